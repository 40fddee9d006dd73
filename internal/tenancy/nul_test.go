package tenancy

import (
	"context"
	"errors"
	"testing"
)

// A NUL in a key id (?api_key=key_%00.x) is a malformed credential before
// any store sees it: PostgreSQL refuses NUL in text and would make it a 503.
func TestNULKeyIDIsMalformed(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.AuthenticateKey(context.Background(), "key_\x00", "x")
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Reason != ReasonMalformed {
		t.Fatalf("got %v, want a malformed credential", err)
	}
}
