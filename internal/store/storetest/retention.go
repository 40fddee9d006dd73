package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// testRetention: faces are listed for erasure by their last use (a
// verification counts), per integration; ended capture sessions go, open
// ones stay.
func testRetention(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	idle, used := newFace(t, s, a.ID), newFace(t, s, a.ID)
	other := newFace(t, s, b.ID)
	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	time.Sleep(5 * time.Millisecond)
	noErr(t, "verify", s.PassVerification(ctx(t), a.ID, used.ID))
	got, err := s.ListUnusedFaces(ctx(t), a.ID, cut, 10)
	noErr(t, "list unused", err)
	if len(got) != 1 || got[0].ID != idle.ID {
		t.Fatalf("unused faces before the cut: %+v (want only %s)", got, idle.ID)
	}
	if unused, err := s.FaceUnusedSince(ctx(t), a.ID, idle.ID, cut); err != nil || !unused {
		t.Fatalf("idle face unused since the cut: %v %v", unused, err)
	}
	if unused, err := s.FaceUnusedSince(ctx(t), a.ID, used.ID, cut); err != nil || unused {
		t.Fatalf("verified face unused since the cut: %v %v", unused, err)
	}
	if unused, _ := s.FaceUnusedSince(ctx(t), b.ID, idle.ID, cut); unused {
		t.Fatal("another integration's face reported")
	}
	if got, _ := s.ListUnusedFaces(ctx(t), a.ID, time.Now().Add(-time.Hour), 10); len(got) != 0 {
		t.Fatalf("faces unused for an hour: %+v", got)
	}
	if got, _ := s.ListUnusedFaces(ctx(t), b.ID, time.Now().Add(time.Second), 10); len(got) != 1 || got[0].ID != other.ID {
		t.Fatalf("other integration's unused faces: %+v", got)
	}
	idle.Metadata = json.RawMessage(`{"k":1}`)
	noErr(t, "update", s.UpdateFace(ctx(t), idle))
	if got, _ := s.ListUnusedFaces(ctx(t), a.ID, cut, 10); len(got) != 0 {
		t.Fatalf("a changed face is still unused: %+v", got)
	}

	open := &store.CaptureSession{IntegrationID: a.ID, FaceRef: idle.ID, Kind: "2fa-enrol", Status: "in_progress",
		Challenges: json.RawMessage(`[]`), Nonce: "n", Progress: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(time.Hour)}
	ended := *open
	ended.ID, ended.Status = "", "expired"
	noErr(t, "create open", s.CreateCaptureSession(ctx(t), open))
	noErr(t, "create ended", s.CreateCaptureSession(ctx(t), &ended))
	n, err := s.DeleteEndedCaptureSessions(ctx(t), time.Now().Add(time.Second))
	noErr(t, "delete ended", err)
	if n < 1 {
		t.Fatalf("deleted %d ended sessions", n)
	}
	if _, err := s.GetCaptureSession(ctx(t), ended.ID); err == nil {
		t.Fatal("the ended session is still there")
	}
	if _, err := s.GetCaptureSession(ctx(t), open.ID); err != nil {
		t.Fatalf("the open session went: %v", err)
	}
}
