package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

func testCaptureSessions(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f := newFace(t, s, in.ID)
	sess := &store.CaptureSession{IntegrationID: in.ID, FaceRef: f.ID, Kind: "2fa-enrol", Status: "in_progress",
		Challenges: json.RawMessage(`["smile","turn_left"]`), Nonce: "n1", Progress: json.RawMessage(`{}`),
		ExpiresAt: time.Now().Add(30 * time.Minute)}
	noErr(t, "create", s.CreateCaptureSession(ctx(t), sess))
	got, err := s.GetCaptureSession(ctx(t), sess.ID)
	noErr(t, "get", err)
	// PostgreSQL's jsonb normalises whitespace: compare JSON canonically.
	want := *sess
	want.Challenges, want.Progress = canonJSON(sess.Challenges), canonJSON(sess.Progress)
	got.Challenges, got.Progress = canonJSON(got.Challenges), canonJSON(got.Progress)
	equal(t, "session", got, &want)

	// Update inside a transaction with the row locked.
	err = s.InTx(ctx(t), func(tx store.Tx) error {
		locked, err := tx.GetCaptureSessionForUpdate(ctx(t), sess.ID)
		if err != nil {
			return err
		}
		locked.Status, locked.Frames, locked.Reason = "completed", 7, "done"
		locked.Progress = json.RawMessage(`{"smile":{"met":true}}`)
		return tx.UpdateCaptureSession(ctx(t), locked)
	})
	noErr(t, "update in tx", err)
	got, err = s.GetCaptureSession(ctx(t), sess.ID)
	noErr(t, "get", err)
	if got.Status != "completed" || got.Frames != 7 || got.Reason != "done" || !got.UpdatedAt.After(sess.UpdatedAt.Add(-time.Millisecond)) {
		t.Fatalf("after update: %+v", got)
	}
	list, err := s.ListCaptureSessions(ctx(t), in.ID, f.ID)
	noErr(t, "list", err)
	if len(list) != 1 {
		t.Fatalf("list: %d", len(list))
	}

	// Another integration can neither list nor update it.
	other := newIntegration(t, s)
	list, err = s.ListCaptureSessions(ctx(t), other.ID, f.ID)
	noErr(t, "list other", err)
	if len(list) != 0 {
		t.Fatal("other integration lists the session")
	}
	foreign := *got
	foreign.IntegrationID = other.ID
	wantErr(t, "update from other integration", s.UpdateCaptureSession(ctx(t), &foreign), store.ErrNotFound)
	wantErr(t, "get unknown", func() error { _, err := s.GetCaptureSession(ctx(t), "cap_nope"); return err }(), store.ErrNotFound)

	// The sweeper sees in-progress sessions past their expiry only.
	old := &store.CaptureSession{IntegrationID: in.ID, FaceRef: f.ID, Kind: "2fa-enrol", Status: "in_progress",
		Challenges: json.RawMessage(`[]`), Nonce: "n2", Progress: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(-time.Minute)}
	noErr(t, "create expired", s.CreateCaptureSession(ctx(t), old))
	expired, err := s.ListExpiredCaptureSessions(ctx(t), time.Now(), 1000)
	noErr(t, "list expired", err)
	found := map[string]bool{}
	for _, e := range expired {
		found[e.ID] = true
	}
	if !found[old.ID] || found[sess.ID] {
		t.Fatalf("expired list: has old %v, has live/completed %v", found[old.ID], found[sess.ID])
	}

	// Deleting the face deletes its sessions.
	_, err = s.DeleteFace(ctx(t), in.ID, f.ID)
	noErr(t, "delete face", err)
	_, err = s.GetCaptureSession(ctx(t), sess.ID)
	wantErr(t, "session after face deletion", err, store.ErrNotFound)
}

func testIndexVersions(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	v0, err := s.IndexVersion(ctx(t), in.ID)
	noErr(t, "read", err)
	var v1 int64
	noErr(t, "bump in tx", s.InTx(ctx(t), func(tx store.Tx) error {
		var err error
		v1, err = tx.BumpIndexVersion(ctx(t), in.ID)
		return err
	}))
	if v1 != v0+1 {
		t.Fatalf("bump: %d after %d", v1, v0)
	}
	// A rolled-back bump is not seen.
	_ = s.InTx(ctx(t), func(tx store.Tx) error {
		_, _ = tx.BumpIndexVersion(ctx(t), in.ID)
		return errRollback
	})
	if v, _ := s.IndexVersion(ctx(t), in.ID); v != v1 {
		t.Fatalf("after rollback: %d, want %d", v, v1)
	}
	_, err = s.BumpIndexVersion(ctx(t), "int_missing")
	wantErr(t, "bump unknown integration", err, store.ErrNotFound)
}

var errRollback = errors.New("roll back")
