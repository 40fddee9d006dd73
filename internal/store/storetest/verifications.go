package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

func testVerificationCRUD(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	exp := time.Now().Add(time.Hour)
	v := &store.Verification{IntegrationID: in.ID, UniqueIdentifier: "user-1", FirstName: "Anna", LastName: "Eriksson",
		Email: "a@example.com", DocumentType: "Passport", Status: "Not Started", Source: "identitygram",
		ExternalID: unique("ext"), ExpiresAt: exp, TimerAt: &exp}
	noErr(t, "create", s.CreateVerification(ctx(t), v))
	if !strings.HasPrefix(v.ID, "ver_") || v.CreatedAt.IsZero() {
		t.Fatalf("create did not fill id and times: %+v", v)
	}
	got, err := s.GetVerification(ctx(t), in.ID, v.ID)
	noErr(t, "get", err)
	v.ExpiresAt, *v.TimerAt = stampT(exp), stampT(exp)
	equal(t, "get", got, v)
	byID, err := s.GetVerificationByID(ctx(t), v.ID)
	noErr(t, "get by id", err)
	equal(t, "get by id", byID, v)
	byExt, err := s.GetVerificationByExternalID(ctx(t), in.ID, v.ExternalID)
	noErr(t, "get by external id", err)
	equal(t, "get by external id", byExt, v)

	now := time.Now()
	v.Status, v.Reason, v.StartedAt, v.SubmittedAt, v.DecidedAt, v.TimerAt = "Approved", "ok", &now, &now, &now, nil
	v.Results = json.RawMessage(`{"checks":[{"name":"face_match","score":91.5}]}`)
	v.Details = json.RawMessage(`{"surname":"ERIKSSON"}`)
	v.Attempts = 1
	noErr(t, "update", s.UpdateVerification(ctx(t), v))
	got, err = s.GetVerification(ctx(t), in.ID, v.ID)
	noErr(t, "get after update", err)
	if got.Status != "Approved" || got.Reason != "ok" || got.TimerAt != nil || got.DecidedAt == nil || got.Attempts != 1 ||
		!jsonEqual(got.Results, v.Results) || !jsonEqual(got.Details, v.Details) {
		t.Fatalf("after update: %+v", got)
	}
	other := newIntegration(t, s)
	_, err = s.GetVerification(ctx(t), other.ID, v.ID)
	wantErr(t, "other tenant", err, store.ErrNotFound)
	_, err = s.GetVerificationByID(ctx(t), "ver_nope")
	wantErr(t, "unknown id", err, store.ErrNotFound)
	dup := &store.Verification{IntegrationID: in.ID, UniqueIdentifier: "u", Status: "Not Started", ExternalID: v.ExternalID}
	wantErr(t, "duplicate external id", s.CreateVerification(ctx(t), dup), store.ErrConflict)
	wantErr(t, "no status", s.CreateVerification(ctx(t), &store.Verification{IntegrationID: in.ID, UniqueIdentifier: "u"}), store.ErrInvalid)
}

func testVerificationListAndTimers(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	var ids []string
	for i := range 5 {
		status := "Not Started"
		if i%2 == 1 {
			status = "Started"
		}
		timer := future
		if i < 2 {
			timer = past
		}
		v := &store.Verification{IntegrationID: in.ID, UniqueIdentifier: "u", Status: status, Source: "native", TimerAt: &timer}
		noErr(t, "create", s.CreateVerification(ctx(t), v))
		ids = append(ids, v.ID)
	}
	page, err := s.ListVerifications(ctx(t), in.ID, store.VerificationFilter{Limit: 3})
	noErr(t, "list", err)
	if len(page.Verifications) != 3 || page.Next == "" || page.Verifications[0].ID != ids[4] {
		t.Fatalf("first page: %d next %q", len(page.Verifications), page.Next)
	}
	page, err = s.ListVerifications(ctx(t), in.ID, store.VerificationFilter{Cursor: page.Next, Limit: 3})
	noErr(t, "list 2", err)
	if len(page.Verifications) != 2 || page.Next != "" || page.Verifications[1].ID != ids[0] {
		t.Fatalf("second page: %+v", page)
	}
	started, err := s.ListVerifications(ctx(t), in.ID, store.VerificationFilter{Status: "Started"})
	noErr(t, "list by status", err)
	if len(started.Verifications) != 2 {
		t.Fatalf("started: %d", len(started.Verifications))
	}
	var due []store.Verification
	noErr(t, "claim", s.InTx(ctx(t), func(tx store.Tx) error {
		var err error
		due, err = tx.ClaimDueVerifications(ctx(t), time.Now(), 100)
		return err
	}))
	n := 0
	for _, v := range due {
		if v.IntegrationID == in.ID {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("due timers of this tenant: %d, want 2", n)
	}
}

func testVerificationFiles(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	v := &store.Verification{IntegrationID: in.ID, UniqueIdentifier: "u", Status: "Started", Source: "native"}
	noErr(t, "create", s.CreateVerification(ctx(t), v))
	f := &store.VerificationFile{IntegrationID: in.ID, VerificationID: v.ID, Kind: "document_front", BlobKey: unique("blob"),
		ContentType: "image/jpeg", FileName: "front.jpg", Size: 1234}
	noErr(t, "add", s.AddVerificationFile(ctx(t), f))
	if !strings.HasPrefix(f.ID, "vfl_") || f.State != store.FilePending {
		t.Fatalf("add: %+v", f)
	}
	pending, err := s.ListPendingFiles(ctx(t), time.Now().Add(time.Second), 1000)
	noErr(t, "pending", err)
	if !containsFile(pending, f.ID) {
		t.Fatal("pending file not listed")
	}
	f.State = store.FileStored
	noErr(t, "store", s.SetVerificationFileState(ctx(t), f))
	old, err := s.ListVerificationFilesBefore(ctx(t), in.ID, store.FileStored, time.Now().Add(time.Second), 10)
	noErr(t, "before", err)
	if len(old) != 1 || old[0].ID != f.ID {
		t.Fatalf("stored files before now: %+v", old)
	}
	now := time.Now()
	f.State, f.PurgedAt = store.FilePurged, &now
	noErr(t, "purge", s.SetVerificationFileState(ctx(t), f))
	got, err := s.GetVerificationFile(ctx(t), in.ID, f.ID)
	noErr(t, "get", err)
	if got.State != store.FilePurged || got.PurgedAt == nil || got.Size != 1234 {
		t.Fatalf("purged: %+v", got)
	}
	list, err := s.ListVerificationFiles(ctx(t), in.ID, v.ID)
	noErr(t, "list", err)
	if len(list) != 1 {
		t.Fatalf("files: %d", len(list))
	}
	foreign := &store.VerificationFile{IntegrationID: newIntegration(t, s).ID, VerificationID: v.ID, Kind: "selfie", BlobKey: "k"}
	if err := s.AddVerificationFile(ctx(t), foreign); err == nil {
		t.Fatal("a file was added to another integration's case")
	}
}

func containsFile(fs []store.VerificationFile, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

func stampT(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && equalJSON(x, y)
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
