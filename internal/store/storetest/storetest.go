// Package storetest is the one test suite every store backend must pass.
//
// A backend's test calls Run with a function that opens a fresh, empty,
// unmigrated database; the suite migrates it and exercises the whole
// store.Store contract against it, so SQLite and PostgreSQL are held to
// exactly the same behaviour.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// NewStore opens a fresh, empty, unmigrated store and registers its own
// cleanup (closing it, dropping its database) with t.Cleanup.
type NewStore func(t *testing.T) store.Store

// Run runs the suite. Cases share one migrated store and stay out of each
// other's way by creating their own integrations, which is also how
// production tenants share a database.
func Run(t *testing.T, newStore NewStore) {
	t.Run("migrations", func(t *testing.T) { testMigrations(t, newStore(t)) })

	s := newStore(t)
	if err := s.Migrate(ctx(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, c := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"ping", testPing},
		{"integration/crud", testIntegrationCRUD},
		{"integration/conflicts", testIntegrationConflicts},
		{"integration/invalid", testIntegrationInvalid},
		{"integration/delete-cascade", testIntegrationDelete},
		{"apikey/crud", testAPIKeyCRUD},
		{"apikey/conflicts", testAPIKeyConflicts},
		{"apikey/isolation", testAPIKeyIsolation},
		{"face/crud", testFaceCRUD},
		{"face/conflicts", testFaceConflicts},
		{"face/isolation", testFaceIsolation},
		{"face/pagination", testFacePagination},
		{"face/delete-cascade", testFaceDelete},
		{"face/lockout", testFaceLockout},
		{"retention", testRetention},
		{"spent-tokens", testSpentTokens},
		{"auth-sessions", testAuthSessions},
		{"audit-and-scopes", testAuditAndScopes},
		{"image/crud", testImageCRUD},
		{"template/crud", testTemplateCRUD},
		{"template/list-for-index", testListTemplates},
		{"tx/commit", testTxCommit},
		{"tx/rollback", testTxRollback},
		{"tx/panic", testTxPanic},
		{"tx/atomic-delete-joins-tx", testTxDeleteJoins},
		{"concurrent-writes", testConcurrentWrites},
		{"webhooks", testWebhooks},
		{"capture-sessions", testCaptureSessions},
		{"index-versions", testIndexVersions},
		{"verification/crud", testVerificationCRUD},
		{"verification/list-and-timers", testVerificationListAndTimers},
		{"verification/files", testVerificationFiles},
		{"applicants", testApplicants},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Parallel cases check the store is safe for concurrent use
			// (SQLite's busy timeout and locking included).
			t.Parallel()
			c.fn(t, s)
		})
	}
}

func testMigrations(t *testing.T, s store.Store) {
	current, latest, err := s.SchemaVersion(ctx(t))
	if err != nil {
		t.Fatalf("schema version of empty database: %v", err)
	}
	if current != 0 || latest < 1 {
		t.Fatalf("empty database: version %d of %d, want 0 of >= 1", current, latest)
	}
	for run := 1; run <= 2; run++ { // the second run must be a no-op
		if err := s.Migrate(ctx(t)); err != nil {
			t.Fatalf("migrate run %d: %v", run, err)
		}
		current, _, err = s.SchemaVersion(ctx(t))
		if err != nil || current != latest {
			t.Fatalf("after migrate run %d: version %d (%v), want %d", run, current, err, latest)
		}
	}
	// The schema is usable after the second run.
	newIntegration(t, s)
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// ctx is a context bounded so a deadlocked store fails the test instead of
// hanging it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var seq atomic.Int64

// unique returns a name no other case uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

func newIntegration(t *testing.T, s store.Data) *store.Integration {
	t.Helper()
	in := &store.Integration{
		Name:   unique("integration"),
		Policy: store.Policy{MatchThreshold: 80, LivenessThreshold: 0.5, MaxAttempts: 3, RetentionDays: 30},
	}
	if err := s.CreateIntegration(ctx(t), in); err != nil {
		t.Fatalf("create integration: %v", err)
	}
	return in
}

func newFace(t *testing.T, s store.Data, integrationID string) *store.Face {
	t.Helper()
	f := &store.Face{IntegrationID: integrationID, FaceID: unique("user"), Enabled: true}
	if err := s.CreateFace(ctx(t), f); err != nil {
		t.Fatalf("create face: %v", err)
	}
	return f
}

func newImage(t *testing.T, s store.Data, f *store.Face, challenge string) *store.FaceImage {
	t.Helper()
	img := &store.FaceImage{
		IntegrationID: f.IntegrationID, FaceRef: f.ID, Challenge: challenge,
		BlobKey: unique("blob/" + f.ID), Width: 640, Height: 480,
	}
	if err := s.AddFaceImage(ctx(t), img); err != nil {
		t.Fatalf("add image: %v", err)
	}
	return img
}

func newTemplate(t *testing.T, s store.Data, f *store.Face, imageID, model string) *store.Template {
	t.Helper()
	tpl := &store.Template{
		IntegrationID: f.IntegrationID, FaceRef: f.ID, ImageID: imageID,
		ModelID: model, Sealed: []byte("sealed:" + unique("v")),
	}
	if err := s.AddTemplate(ctx(t), tpl); err != nil {
		t.Fatalf("add template: %v", err)
	}
	return tpl
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// noErr fails on any error.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// equal compares after canonicalising JSON fields: PostgreSQL's jsonb
// re-formats documents, so only their meaning is comparable.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := canon(got), canon(want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func canon(v any) any {
	switch v := v.(type) {
	case *store.Integration:
		c := *v
		c.Theme = canonJSON(c.Theme)
		return c
	case store.Integration:
		return canon(&v)
	case *store.Face:
		c := *v
		c.Metadata = canonJSON(c.Metadata)
		return c
	case store.Face:
		return canon(&v)
	case []store.Face:
		out := make([]store.Face, len(v))
		for i := range v {
			out[i] = canon(&v[i]).(store.Face)
		}
		return out
	}
	return v
}

func canonJSON(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}
