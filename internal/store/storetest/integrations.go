package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

func fullIntegration() *store.Integration {
	return &store.Integration{
		Name:      unique("Acme Bank"),
		CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("CET", 3600)),
		Policy: store.Policy{
			MatchThreshold: 92.5, LivenessThreshold: 0.75, MaxAttempts: 5, RetentionDays: 90,
			RequiredChallenges: []string{"smile", "blink"},
			PolicyOptions:      store.PolicyOptions{CheckDuplicates: true, StillChallenges: true},
		},
		WebhookURLs: map[string][]string{
			"verification.status":   {"https://hooks.example/a", "https://hooks.example/b"},
			"verification.decision": {"https://hooks.example/c"},
		},
		CallbackURLTemplate: "https://acme.example/done?user=[user_id]&status=[status]",
		Theme:               json.RawMessage(`{"logo":"https://acme.example/logo.png","colors":{"primary":"#003366"}}`),
		PublicKey:           unique("pk"),
		SealedAESKey:        []byte{0, 1, 2, 3, 254, 255},
		SealedWebhookSecret: []byte("sealed-secret"),
	}
}

func testIntegrationCRUD(t *testing.T, s store.Store) {
	in := fullIntegration()
	noErr(t, "create", s.CreateIntegration(ctx(t), in))
	if !strings.HasPrefix(in.ID, "int_") {
		t.Fatalf("generated id %q lacks the int_ prefix", in.ID)
	}
	// Stored times are UTC, microsecond precision, and Create says so.
	if want := time.Date(2025, 3, 4, 4, 6, 7, 891234000, time.UTC); !in.CreatedAt.Equal(want) || in.CreatedAt.Location() != time.UTC {
		t.Fatalf("created at %v, want %v UTC", in.CreatedAt, want)
	}

	got, err := s.GetIntegration(ctx(t), in.ID)
	noErr(t, "get", err)
	equal(t, "get", got, in)

	got, err = s.GetIntegrationByPublicKey(ctx(t), in.PublicKey)
	noErr(t, "get by public key", err)
	equal(t, "get by public key", got, in)

	in.Name = "renamed"
	in.Policy = store.Policy{MatchThreshold: 60, LivenessThreshold: 0.1, MaxAttempts: 1}
	in.WebhookURLs = nil
	in.Theme = nil
	in.PublicKey = ""
	in.SealedAESKey = []byte("rotated")
	noErr(t, "update", s.UpdateIntegration(ctx(t), in))
	got, err = s.GetIntegration(ctx(t), in.ID)
	noErr(t, "get after update", err)
	equal(t, "get after update", got, in)

	list, err := s.ListIntegrations(ctx(t))
	noErr(t, "list", err)
	if !containsIntegration(list, in) {
		t.Fatalf("list lacks %s", in.ID)
	}

	_, err = s.GetIntegration(ctx(t), "int_missing")
	wantErr(t, "get missing", err, store.ErrNotFound)
	_, err = s.GetIntegrationByPublicKey(ctx(t), "")
	wantErr(t, "get by empty public key", err, store.ErrNotFound)
	missing := fullIntegration()
	missing.ID = "int_missing"
	wantErr(t, "update missing", s.UpdateIntegration(ctx(t), missing), store.ErrNotFound)
}

func containsIntegration(list []store.Integration, in *store.Integration) bool {
	for _, got := range list {
		if got.ID == in.ID {
			return true
		}
	}
	return false
}

func testIntegrationConflicts(t *testing.T, s store.Store) {
	a := fullIntegration()
	noErr(t, "create", s.CreateIntegration(ctx(t), a))

	dupID := fullIntegration()
	dupID.ID = a.ID
	wantErr(t, "duplicate id", s.CreateIntegration(ctx(t), dupID), store.ErrConflict)

	dupKey := fullIntegration()
	dupKey.PublicKey = a.PublicKey
	wantErr(t, "duplicate public key", s.CreateIntegration(ctx(t), dupKey), store.ErrConflict)

	// Having no public key is not a conflict, however many share that.
	b := newIntegration(t, s)
	newIntegration(t, s)
	b.PublicKey = a.PublicKey
	wantErr(t, "update to a taken public key", s.UpdateIntegration(ctx(t), b), store.ErrConflict)
}

func testIntegrationInvalid(t *testing.T, s store.Store) {
	for name, mutate := range map[string]func(*store.Integration){
		"match threshold": func(in *store.Integration) { in.Policy.MatchThreshold = 101 },
		"liveness":        func(in *store.Integration) { in.Policy.LivenessThreshold = -0.1 },
		"no attempts":     func(in *store.Integration) { in.Policy.MaxAttempts = 0 },
		"many attempts":   func(in *store.Integration) { in.Policy.MaxAttempts = 6 },
		"retention":       func(in *store.Integration) { in.Policy.RetentionDays = -1 },
		"theme":           func(in *store.Integration) { in.Theme = json.RawMessage(`{"logo":`) },
	} {
		in := fullIntegration()
		mutate(in)
		wantErr(t, "create with invalid "+name, s.CreateIntegration(ctx(t), in), store.ErrInvalid)
	}
	in := newIntegration(t, s)
	in.Policy.MaxAttempts = 9
	wantErr(t, "update with invalid policy", s.UpdateIntegration(ctx(t), in), store.ErrInvalid)
}

func testIntegrationDelete(t *testing.T, s store.Store) {
	in, other := newIntegration(t, s), newIntegration(t, s)
	key := &store.APIKey{IntegrationID: in.ID, SecretHash: []byte("h")}
	noErr(t, "create key", s.CreateAPIKey(ctx(t), key))
	var want []string
	for range 2 {
		f := newFace(t, s, in.ID)
		img := newImage(t, s, f, "enrol")
		newTemplate(t, s, f, img.ID, "m1")
		want = append(want, img.BlobKey)
	}
	otherImg := newImage(t, s, newFace(t, s, other.ID), "enrol")

	keys, err := s.DeleteIntegration(ctx(t), in.ID)
	noErr(t, "delete", err)
	equal(t, "blob keys", sorted(keys), sorted(want))

	_, err = s.GetIntegration(ctx(t), in.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	_, err = s.GetAPIKey(ctx(t), key.ID)
	wantErr(t, "get key of deleted integration", err, store.ErrNotFound)
	page, err := s.ListFaces(ctx(t), in.ID, "", 10)
	noErr(t, "list faces of deleted integration", err)
	if len(page.Faces) != 0 {
		t.Fatalf("faces survived their integration: %+v", page.Faces)
	}
	_, err = s.GetFaceImage(ctx(t), other.ID, otherImg.ID)
	noErr(t, "other integration's image", err)
	_, err = s.DeleteIntegration(ctx(t), in.ID)
	wantErr(t, "delete twice", err, store.ErrNotFound)
}
