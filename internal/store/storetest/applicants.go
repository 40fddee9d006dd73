package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// testApplicants: validation requests round-trip, lock and update inside
// a transaction, stay inside their integration, and a subject's profile
// is its latest completed registration.
func testApplicants(t *testing.T, s store.Store) {
	in, other := newIntegration(t, s), newIntegration(t, s)
	a := &store.Applicant{IntegrationID: in.ID, Subject: "user-1", Purpose: store.ApplicantRegistration, Status: store.ApplicantOpen, MaxAttempts: 3}
	noErr(t, "create", s.CreateApplicant(ctx(t), a))
	if a.ID == "" || a.CreatedAt.IsZero() {
		t.Fatalf("create filled %+v", a)
	}
	got, err := s.GetApplicant(ctx(t), in.ID, a.ID)
	noErr(t, "get", err)
	if got.Subject != "user-1" || got.MaxAttempts != 3 || got.Status != store.ApplicantOpen || got.Result != nil || got.CompletedAt != nil {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.GetApplicant(ctx(t), other.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another integration read the applicant: %v", err)
	}
	if _, err := s.SubjectProfile(ctx(t), in.ID, "user-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("profile before completion: %v", err)
	}
	done := time.Now().Add(-time.Minute)
	noErr(t, "complete", s.InTx(ctx(t), func(tx store.Tx) error {
		r, err := tx.GetApplicantForUpdate(ctx(t), in.ID, a.ID)
		if err != nil {
			return err
		}
		r.Attempts, r.Status, r.ProfileID, r.CompletedAt = 2, store.ApplicantCompleted, "prf_1", &done
		r.Result = json.RawMessage(`{"outcome":"success"}`)
		return tx.UpdateApplicant(ctx(t), r)
	}))
	got, err = s.GetApplicant(ctx(t), in.ID, a.ID)
	noErr(t, "get completed", err)
	if got.Attempts != 2 || got.ProfileID != "prf_1" || got.CompletedAt == nil || !got.CompletedAt.Equal(done.UTC().Truncate(time.Microsecond)) ||
		string(got.Result) != `{"outcome":"success"}` && string(got.Result) != `{"outcome": "success"}` {
		t.Fatalf("completed %+v (%s)", got, got.Result)
	}
	// A later registration of the same subject is its profile now.
	b := &store.Applicant{IntegrationID: in.ID, Subject: "user-1", Purpose: store.ApplicantRegistration, Status: store.ApplicantCompleted,
		ProfileID: "prf_2", MaxAttempts: 1, CompletedAt: ptrTime(time.Now())}
	noErr(t, "create second", s.CreateApplicant(ctx(t), b))
	if p, err := s.SubjectProfile(ctx(t), in.ID, "user-1"); err != nil || p != "prf_2" {
		t.Fatalf("subject profile %q, %v; want prf_2", p, err)
	}
	if _, err := s.SubjectProfile(ctx(t), other.ID, "user-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another integration's subject profile: %v", err)
	}
	bad := &store.Applicant{IntegrationID: in.ID, Purpose: store.ApplicantRegistration, Status: store.ApplicantOpen, MaxAttempts: 6}
	if err := s.CreateApplicant(ctx(t), bad); err == nil {
		t.Fatal("max_attempts 6 was stored")
	}
	ghost := &store.Applicant{ID: "apl_ghost", IntegrationID: in.ID, Status: store.ApplicantOpen, Purpose: store.ApplicantRegistration, MaxAttempts: 1}
	if err := s.UpdateApplicant(ctx(t), ghost); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing applicant: %v", err)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
