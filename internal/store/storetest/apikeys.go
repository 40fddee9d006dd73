package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

func testAPIKeyCRUD(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	first := &store.APIKey{IntegrationID: in.ID, SecretHash: []byte{1, 2, 3}, Label: "server"}
	noErr(t, "create", s.CreateAPIKey(ctx(t), first))
	if !strings.HasPrefix(first.ID, "key_") {
		t.Fatalf("generated id %q lacks the key_ prefix", first.ID)
	}
	second := &store.APIKey{
		ID: unique("pub"), IntegrationID: in.ID, SecretHash: []byte{4},
		CreatedAt: first.CreatedAt.Add(time.Second),
	}
	noErr(t, "create second", s.CreateAPIKey(ctx(t), second))

	got, err := s.GetAPIKey(ctx(t), first.ID)
	noErr(t, "get", err)
	equal(t, "get", got, first)

	list, err := s.ListAPIKeys(ctx(t), in.ID)
	noErr(t, "list", err)
	equal(t, "list", list, []store.APIKey{*first, *second})

	used := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	noErr(t, "touch", s.TouchAPIKey(ctx(t), first.ID, used))
	revoked := used.Add(time.Hour)
	noErr(t, "revoke", s.RevokeAPIKey(ctx(t), in.ID, first.ID, revoked))
	noErr(t, "revoke again", s.RevokeAPIKey(ctx(t), in.ID, first.ID, revoked.Add(time.Hour)))
	got, err = s.GetAPIKey(ctx(t), first.ID)
	noErr(t, "get after revoke", err)
	first.LastUsedAt, first.RevokedAt = &used, &revoked // the first revocation stands
	equal(t, "get after revoke", got, first)

	_, err = s.GetAPIKey(ctx(t), "key_missing")
	wantErr(t, "get missing", err, store.ErrNotFound)
	wantErr(t, "touch missing", s.TouchAPIKey(ctx(t), "key_missing", used), store.ErrNotFound)
	wantErr(t, "revoke missing", s.RevokeAPIKey(ctx(t), in.ID, "key_missing", used), store.ErrNotFound)
}

func testAPIKeyConflicts(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	k := &store.APIKey{IntegrationID: in.ID, SecretHash: []byte("h")}
	noErr(t, "create", s.CreateAPIKey(ctx(t), k))
	dup := &store.APIKey{ID: k.ID, IntegrationID: newIntegration(t, s).ID, SecretHash: []byte("h")}
	wantErr(t, "duplicate id", s.CreateAPIKey(ctx(t), dup), store.ErrConflict)
	orphan := &store.APIKey{IntegrationID: "int_missing", SecretHash: []byte("h")}
	wantErr(t, "key of a missing integration", s.CreateAPIKey(ctx(t), orphan), store.ErrNotFound)
}

func testAPIKeyIsolation(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	k := &store.APIKey{IntegrationID: a.ID, SecretHash: []byte("h")}
	noErr(t, "create", s.CreateAPIKey(ctx(t), k))

	wantErr(t, "revoke from another integration",
		s.RevokeAPIKey(ctx(t), b.ID, k.ID, time.Now()), store.ErrNotFound)
	list, err := s.ListAPIKeys(ctx(t), b.ID)
	noErr(t, "list other", err)
	if len(list) != 0 {
		t.Fatalf("integration B lists A's keys: %+v", list)
	}
	got, err := s.GetAPIKey(ctx(t), k.ID)
	noErr(t, "get", err)
	if got.RevokedAt != nil {
		t.Fatal("integration B revoked A's key")
	}
}
