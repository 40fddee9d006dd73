package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// testAuthSessions: a face-authentication session round-trips, its
// handoff is unique among sessions and findable, an update moves it, and
// ended or expired sessions are deleted while running ones stay.
func testAuthSessions(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f := newFace(t, s, in.ID)
	mk := func(id, handoff string, exp time.Duration) *store.AuthSession {
		a := &store.AuthSession{ID: id, IntegrationID: in.ID, Kind: "authenticate", FaceRef: f.ID, Subject: "scan-1", Status: "in_progress", Locale: "fr",
			Handoff: handoff, Result: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(exp)}
		noErr(t, "create "+id, s.CreateAuthSession(ctx(t), a))
		return a
	}
	a := mk("as_"+in.ID+"_a", "code:"+in.ID, time.Hour)
	b := &store.AuthSession{ID: "as_" + in.ID + "_b", IntegrationID: in.ID, Kind: "authenticate", FaceRef: f.ID, Status: "in_progress", Locale: "en",
		Handoff: a.Handoff, Result: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateAuthSession(ctx(t), b); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second session with the same handoff: %v", err)
	}
	got, err := s.GetAuthSessionByHandoff(ctx(t), a.Handoff)
	noErr(t, "by handoff", err)
	if got.ID != a.ID || got.Locale != "fr" || got.Subject != "scan-1" || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("by handoff: %+v, want %+v", got, a)
	}
	got.Status, got.Handoff, got.Attempts, got.Result = "completed", "", 2, json.RawMessage(`{"reason":""}`)
	noErr(t, "update", s.UpdateAuthSession(ctx(t), got))
	again, err := s.GetAuthSession(ctx(t), a.ID)
	noErr(t, "get", err)
	if again.Status != "completed" || again.Handoff != "" || again.Attempts != 2 {
		t.Fatalf("after update: %+v", again)
	}
	if _, err := s.GetAuthSessionByHandoff(ctx(t), a.Handoff); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a cleared handoff still found: %v", err)
	}
	running := mk("as_"+in.ID+"_c", "", time.Hour)
	faceless := &store.AuthSession{ID: "as_" + in.ID + "_e", IntegrationID: in.ID, Kind: "best_image", Status: "in_progress", Locale: "en",
		Result: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(time.Hour)}
	noErr(t, "create a session without a face", s.CreateAuthSession(ctx(t), faceless))
	if got, err := s.GetAuthSession(ctx(t), faceless.ID); err != nil || got.FaceRef != "" || got.Kind != "best_image" {
		t.Fatalf("a session without a face: %+v %v", got, err)
	}
	expired := mk("as_"+in.ID+"_d", "", -time.Minute)
	late, err := s.ListExpiredAuthSessions(ctx(t), time.Now(), 1000)
	noErr(t, "list expired", err)
	seen := map[string]bool{}
	for _, l := range late {
		seen[l.ID] = true
	}
	if !seen[expired.ID] || seen[running.ID] || seen[a.ID] {
		t.Fatalf("expired sessions listed: %v (want %s only of these)", seen, expired.ID)
	}
	n, err := s.DeleteEndedAuthSessions(ctx(t), time.Now().Add(time.Second))
	noErr(t, "delete ended", err)
	if n < 2 {
		t.Fatalf("deleted %d ended or expired sessions, want ≥ 2", n)
	}
	for id, want := range map[string]bool{a.ID: false, expired.ID: false, running.ID: true} {
		if _, err := s.GetAuthSession(ctx(t), id); (err == nil) != want {
			t.Errorf("session %s present %v, want %v", id, err == nil, want)
		}
	}
}
