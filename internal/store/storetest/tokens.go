package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// testSpentTokens: a token id spends once per integration, even when two
// requests race with it; expired spends are forgotten.
func testSpentTokens(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	exp := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.SpendToken(ctx(t), a.ID, "tok1", exp) }()
	}
	wg.Wait()
	spent := 0
	for _, err := range errs {
		switch {
		case err == nil:
			spent++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("racing spend: %v", err)
		}
	}
	if spent != 1 {
		t.Fatalf("%d of 8 racing spends succeeded, want 1", spent)
	}
	noErr(t, "same id, other integration", s.SpendToken(ctx(t), b.ID, "tok1", exp))
	noErr(t, "expired spend", s.SpendToken(ctx(t), a.ID, "old", time.Now().Add(-time.Minute)))
	n, err := s.DeleteExpiredTokens(ctx(t), time.Now())
	noErr(t, "delete expired", err)
	if n < 1 {
		t.Fatalf("deleted %d expired tokens", n)
	}
	if err := s.SpendToken(ctx(t), a.ID, "tok1", exp); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an unexpired spent token was forgotten: %v", err)
	}
}
