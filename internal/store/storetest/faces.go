package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

func testFaceCRUD(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f := &store.Face{
		IntegrationID: in.ID, FaceID: "user-42", Enabled: true, Liveness: store.LivenessPassive,
		Metadata: json.RawMessage(`{"email": "a@example.com", "tags": ["vip"]}`),
	}
	noErr(t, "create", s.CreateFace(ctx(t), f))
	if !strings.HasPrefix(f.ID, "face_") || f.CreatedAt.IsZero() || !f.UpdatedAt.Equal(f.CreatedAt) {
		t.Fatalf("create did not fill id and times: %+v", f)
	}

	got, err := s.GetFace(ctx(t), in.ID, f.ID)
	noErr(t, "get", err)
	equal(t, "get", got, f)
	got, err = s.GetFaceByFaceID(ctx(t), in.ID, "user-42")
	noErr(t, "get by face id", err)
	equal(t, "get by face id", got, f)

	time.Sleep(2 * time.Millisecond) // UpdatedAt must visibly move
	f.Enabled = false
	f.Metadata = nil
	f.Liveness = store.LivenessActive
	noErr(t, "update", s.UpdateFace(ctx(t), f))
	if !f.UpdatedAt.After(f.CreatedAt) {
		t.Fatalf("update did not advance UpdatedAt: %v <= %v", f.UpdatedAt, f.CreatedAt)
	}
	got, err = s.GetFace(ctx(t), in.ID, f.ID)
	noErr(t, "get after update", err)
	equal(t, "get after update", got, f)

	_, err = s.GetFace(ctx(t), in.ID, "face_missing")
	wantErr(t, "get missing", err, store.ErrNotFound)
	_, err = s.GetFaceByFaceID(ctx(t), in.ID, "nobody")
	wantErr(t, "get missing face id", err, store.ErrNotFound)
	missing := &store.Face{ID: "face_missing", IntegrationID: in.ID}
	wantErr(t, "update missing", s.UpdateFace(ctx(t), missing), store.ErrNotFound)
	bad := &store.Face{IntegrationID: in.ID, FaceID: "bad", Metadata: json.RawMessage(`{`)}
	wantErr(t, "invalid metadata", s.CreateFace(ctx(t), bad), store.ErrInvalid)
}

func testFaceConflicts(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	f := newFace(t, s, a.ID)

	dup := &store.Face{IntegrationID: a.ID, FaceID: f.FaceID}
	wantErr(t, "duplicate faceId", s.CreateFace(ctx(t), dup), store.ErrConflict)
	dupID := &store.Face{ID: f.ID, IntegrationID: a.ID, FaceID: unique("other")}
	wantErr(t, "duplicate internal id", s.CreateFace(ctx(t), dupID), store.ErrConflict)

	// faceIds are the clients' own: unique per integration, not globally.
	same := &store.Face{IntegrationID: b.ID, FaceID: f.FaceID}
	noErr(t, "same faceId in another integration", s.CreateFace(ctx(t), same))

	orphan := &store.Face{IntegrationID: "int_missing", FaceID: "x"}
	wantErr(t, "face of a missing integration", s.CreateFace(ctx(t), orphan), store.ErrNotFound)
}

// testFaceIsolation checks that every face operation of integration B is
// blind to integration A's face, its images and its templates.
func testFaceIsolation(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	f := newFace(t, s, a.ID)
	img := newImage(t, s, f, "enrol")
	tpl := newTemplate(t, s, f, img.ID, "m1")

	checkReadsBlind(t, s, b.ID, f, img)
	checkWritesBlind(t, s, b.ID, f, img)

	// A still sees all of it, unchanged.
	got, err := s.GetFace(ctx(t), a.ID, f.ID)
	noErr(t, "A's face", err)
	equal(t, "A's face", got, f)
	tpls, err := s.ListFaceTemplates(ctx(t), a.ID, f.ID)
	noErr(t, "A's templates", err)
	equal(t, "A's templates", tpls, []store.Template{*tpl})
	_, err = s.GetFaceImage(ctx(t), a.ID, img.ID)
	noErr(t, "A's image", err)
}

func checkReadsBlind(t *testing.T, s store.Store, other string, f *store.Face, img *store.FaceImage) {
	t.Helper()
	_, err := s.GetFace(ctx(t), other, f.ID)
	wantErr(t, "get another's face", err, store.ErrNotFound)
	_, err = s.GetFaceByFaceID(ctx(t), other, f.FaceID)
	wantErr(t, "get another's faceId", err, store.ErrNotFound)
	_, err = s.GetFaceImage(ctx(t), other, img.ID)
	wantErr(t, "get another's image", err, store.ErrNotFound)

	page, err := s.ListFaces(ctx(t), other, "", 100)
	noErr(t, "list faces", err)
	imgs, err := s.ListFaceImages(ctx(t), other, f.ID)
	noErr(t, "list images", err)
	tpls, err := s.ListFaceTemplates(ctx(t), other, f.ID)
	noErr(t, "list face templates", err)
	index, err := s.ListTemplates(ctx(t), other, "m1")
	noErr(t, "list templates", err)
	if len(page.Faces)+len(imgs)+len(tpls)+len(index) != 0 {
		t.Fatalf("another integration lists A's data: %+v %+v %+v %+v", page.Faces, imgs, tpls, index)
	}
}

func checkWritesBlind(t *testing.T, s store.Store, other string, f *store.Face, img *store.FaceImage) {
	t.Helper()
	hijack := *f
	hijack.IntegrationID, hijack.Enabled = other, false
	wantErr(t, "update another's face", s.UpdateFace(ctx(t), &hijack), store.ErrNotFound)

	foreignImg := &store.FaceImage{IntegrationID: other, FaceRef: f.ID, Challenge: "enrol", BlobKey: "k"}
	wantErr(t, "add image to another's face", s.AddFaceImage(ctx(t), foreignImg), store.ErrNotFound)
	foreignTpl := &store.Template{IntegrationID: other, FaceRef: f.ID, ModelID: "m1", Sealed: []byte("x")}
	wantErr(t, "add template to another's face", s.AddTemplate(ctx(t), foreignTpl), store.ErrNotFound)

	_, err := s.DeleteFaceImage(ctx(t), other, img.ID)
	wantErr(t, "delete another's image", err, store.ErrNotFound)
	_, err = s.DeleteFace(ctx(t), other, f.ID)
	wantErr(t, "delete another's face", err, store.ErrNotFound)
}

func testFacePagination(t *testing.T, s store.Store) {
	in, other := newIntegration(t, s), newIntegration(t, s)
	newFace(t, s, other.ID) // must never show up
	want := make([]store.Face, 0, 23)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 23 {
		// Groups of three share a timestamp: the id must break the tie.
		f := &store.Face{IntegrationID: in.ID, FaceID: unique("p"), CreatedAt: base.Add(time.Duration(i/3) * time.Second)}
		noErr(t, "create", s.CreateFace(ctx(t), f))
		want = append(want, *f)
	}
	slices.SortFunc(want, func(x, y store.Face) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})

	got, pages := collectPages(t, s, in.ID, 5)
	equal(t, "all pages", got, want)
	if pages != 5 {
		t.Fatalf("23 faces by 5 took %d pages, want 5", pages)
	}
	all, err := s.ListFaces(ctx(t), in.ID, "", 0) // default page size holds all
	noErr(t, "default limit", err)
	if len(all.Faces) != 23 || all.Next != "" {
		t.Fatalf("default limit: %d faces, next %q", len(all.Faces), all.Next)
	}
	_, err = s.ListFaces(ctx(t), in.ID, "not a cursor!", 5)
	wantErr(t, "malformed cursor", err, store.ErrInvalid)
}

// collectPages walks ListFaces to the end, failing on a runaway cursor.
func collectPages(t *testing.T, s store.Store, integrationID string, limit int) ([]store.Face, int) {
	t.Helper()
	var got []store.Face
	cursor, pages := "", 0
	for {
		page, err := s.ListFaces(ctx(t), integrationID, cursor, limit)
		noErr(t, "list page", err)
		if pages++; pages > 100 || len(page.Faces) > limit {
			t.Fatalf("page %d: %d faces for limit %d", pages, len(page.Faces), limit)
		}
		got = append(got, page.Faces...)
		if page.Next == "" {
			return got, pages
		}
		cursor = page.Next
	}
}

func testFaceDelete(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f, keep := newFace(t, s, in.ID), newFace(t, s, in.ID)
	var want []string
	for _, ch := range []string{"smile", "blink", "turn_left"} {
		img := newImage(t, s, f, ch)
		newTemplate(t, s, f, img.ID, "m1")
		want = append(want, img.BlobKey)
	}
	newTemplate(t, s, f, "", "m2") // a template without an image
	keptImg := newImage(t, s, keep, "enrol")
	keptTpl := newTemplate(t, s, keep, keptImg.ID, "m1")

	keys, err := s.DeleteFace(ctx(t), in.ID, f.ID)
	noErr(t, "delete", err)
	equal(t, "blob keys", sorted(keys), sorted(want))

	_, err = s.GetFace(ctx(t), in.ID, f.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	imgs, err := s.ListFaceImages(ctx(t), in.ID, f.ID)
	noErr(t, "list images", err)
	tpls, err := s.ListFaceTemplates(ctx(t), in.ID, f.ID)
	noErr(t, "list templates", err)
	if len(imgs)+len(tpls) != 0 {
		t.Fatalf("images or templates survived their face: %+v %+v", imgs, tpls)
	}
	index, err := s.ListTemplates(ctx(t), in.ID, "m1")
	noErr(t, "index", err)
	if len(index) != 1 || index[0].ID != keptTpl.ID {
		t.Fatalf("index after delete: %+v, want only %s", index, keptTpl.ID)
	}
	_, err = s.DeleteFace(ctx(t), in.ID, f.ID)
	wantErr(t, "delete twice", err, store.ErrNotFound)
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func testFaceLockout(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	f := newFace(t, s, a.ID)
	for i := 1; i <= 2; i++ {
		n, locked, err := s.FailVerification(ctx(t), a.ID, f.ID, 3)
		noErr(t, "fail", err)
		if n != i || locked {
			t.Fatalf("failure %d: count %d, locked %v", i, n, locked)
		}
	}
	// A success resets the count.
	noErr(t, "pass", s.PassVerification(ctx(t), a.ID, f.ID))
	for i := 1; i <= 3; i++ {
		n, locked, err := s.FailVerification(ctx(t), a.ID, f.ID, 3)
		noErr(t, "fail", err)
		if n != i || locked != (i == 3) {
			t.Fatalf("failure %d after reset: count %d, locked %v", i, n, locked)
		}
	}
	got, err := s.GetFace(ctx(t), a.ID, f.ID)
	noErr(t, "get locked", err)
	if got.LockedAt == nil || got.FailedAttempts != 3 {
		t.Fatalf("locked face reads %+v", got)
	}
	// Locked: a success does not count, further failures keep it locked.
	wantErr(t, "pass while locked", s.PassVerification(ctx(t), a.ID, f.ID), store.ErrLocked)
	if _, locked, _ := s.FailVerification(ctx(t), a.ID, f.ID, 3); !locked {
		t.Fatal("a fourth failure unlocked the face")
	}
	// Another integration can neither count against nor unlock the face.
	_, _, err = s.FailVerification(ctx(t), b.ID, f.ID, 3)
	wantErr(t, "fail across integrations", err, store.ErrNotFound)
	wantErr(t, "unlock across integrations", s.UnlockFace(ctx(t), b.ID, f.ID), store.ErrNotFound)
	noErr(t, "unlock", s.UnlockFace(ctx(t), a.ID, f.ID))
	got, _ = s.GetFace(ctx(t), a.ID, f.ID)
	if got.LockedAt != nil || got.FailedAttempts != 0 {
		t.Fatalf("unlocked face reads %+v", got)
	}
	noErr(t, "pass after unlock", s.PassVerification(ctx(t), a.ID, f.ID))
	// max <= 0 never locks.
	if _, locked, _ := s.FailVerification(ctx(t), a.ID, f.ID, 0); locked {
		t.Fatal("max 0 locked the face")
	}
	wantErr(t, "pass missing", s.PassVerification(ctx(t), a.ID, "face_missing"), store.ErrNotFound)
}

func testAuditAndScopes(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	for i, action := range []string{"integration.settings_changed", "face.unlocked"} {
		e := &store.AuditEvent{IntegrationID: a.ID, Actor: "key_1", Remote: "203.0.113.7", Action: action, Subject: a.ID,
			Detail: json.RawMessage(`{"n":` + string(rune('0'+i)) + `}`)}
		noErr(t, "add", s.AddAuditEvent(ctx(t), e))
		time.Sleep(2 * time.Millisecond)
	}
	got, err := s.ListAuditEvents(ctx(t), a.ID, store.AuditCursor{}, 10)
	noErr(t, "list", err)
	if len(got) != 2 || got[0].Action != "face.unlocked" || got[1].Remote != "203.0.113.7" || !strings.Contains(string(got[1].Detail), `"n"`) {
		t.Fatalf("audit events: %+v", got)
	}
	if other, _ := s.ListAuditEvents(ctx(t), b.ID, store.AuditCursor{}, 10); len(other) != 0 {
		t.Fatalf("another integration sees %d events", len(other))
	}
	// Five events of one instant page two at a time without a gap or a repeat.
	at := time.Now().Add(-time.Hour)
	for range 5 {
		noErr(t, "add same instant", s.AddAuditEvent(ctx(t), &store.AuditEvent{IntegrationID: b.ID, Actor: "system", Action: "key.created", CreatedAt: at}))
	}
	seen, cur := map[string]bool{}, store.AuditCursor{}
	for page := 0; ; page++ {
		evs, err := s.ListAuditEvents(ctx(t), b.ID, cur, 2)
		noErr(t, "page", err)
		if len(evs) == 0 || page > 5 {
			break
		}
		for _, e := range evs {
			if seen[e.ID] {
				t.Fatalf("event %s shown twice", e.ID)
			}
			seen[e.ID] = true
		}
		last := evs[len(evs)-1]
		cur = store.AuditCursor{At: last.CreatedAt, ID: last.ID}
	}
	if len(seen) != 5 {
		t.Fatalf("paging saw %d of 5 events", len(seen))
	}
	k := &store.APIKey{IntegrationID: a.ID, SecretHash: []byte("h"), Label: "verify only", Scope: store.ScopeVerify}
	noErr(t, "create scoped key", s.CreateAPIKey(ctx(t), k))
	rk, err := s.GetAPIKey(ctx(t), k.ID)
	noErr(t, "get scoped key", err)
	if rk.Scope != store.ScopeVerify {
		t.Fatalf("scope read back %q", rk.Scope)
	}
	wantErr(t, "unknown scope", s.CreateAPIKey(ctx(t), &store.APIKey{IntegrationID: a.ID, SecretHash: []byte("h"), Scope: "root"}), store.ErrInvalid)
	if !store.ScopeAllows(store.ScopeAdmin, store.ScopeEnrol) || store.ScopeAllows(store.ScopeVerify, store.ScopeEnrol) || store.ScopeAllows("", store.ScopeVerify) {
		t.Fatal("scope order")
	}
}
