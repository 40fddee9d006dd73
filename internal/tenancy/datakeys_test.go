package tenancy

import (
	"context"
	"errors"
	"testing"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// Each integration seals with its own data key: another integration's
// keyring, the master keyring alone and a restarted node agree on who
// opens what; data the master key sealed before stays readable; deleting
// the integration deletes its key.
func TestDataKeyPerIntegration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.create(t, "a"), f.create(t, "b")
	ka, err := f.svc.DataKeyring(ctx, a.Integration.ID)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := f.svc.DataKeyring(ctx, b.Integration.ID)
	ad := []byte("place")
	env, err := ka.Seal([]byte("selfie"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := crypto.EnvelopeKeyID(env); id != DataKeyID {
		t.Fatalf("sealed under %q", id)
	}
	if _, err := kb.Open(env, ad); !errors.Is(err, crypto.ErrTampered) {
		t.Fatalf("another integration's keyring: %v", err)
	}
	master, _ := crypto.NewKeyring(testMaster)
	if _, err := master.Open(env, ad); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Fatalf("the master keyring alone: %v", err)
	}
	old, _ := master.Seal([]byte("before data keys"), ad)
	if got, err := ka.Open(old, ad); err != nil || string(got) != "before data keys" {
		t.Fatalf("master-sealed data through the data keyring: %q %v", got, err)
	}
	// A second node (fresh cache) unwraps the same key, never a new one.
	other := New(f.st, master, Options{})
	ka2, err := other.DataKeyring(ctx, a.Integration.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ka2.Open(env, ad); err != nil || string(got) != "selfie" {
		t.Fatalf("second node: %q %v", got, err)
	}
	if _, err := f.st.DeleteIntegration(ctx, a.Integration.ID); err != nil {
		t.Fatal(err)
	}
	third := New(f.st, master, Options{})
	if _, err := third.DataKeyring(ctx, a.Integration.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("data key of a deleted integration: %v", err)
	}
}
