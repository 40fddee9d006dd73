package faceauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/store"
)

// A face nobody has used for the integration's retention_days is erased
// with its images, templates and index entry, and the erasure is audited;
// a face in use stays. The test counts the sealed files on disk.
func TestRetentionErasesUnusedFaces(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	stills := amyStills(t)
	if _, err := fx.svc.Start2FA(ctx, fx.tenant, "sleeper", StartOptions{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.RegisterStills(ctx, fx.tenant, "sleeper", stills); err != nil {
		t.Fatal(err)
	}
	f, _ := fx.st.GetFaceByFaceID(ctx, fx.tenant.ID, "sleeper")
	imgs, err := fx.st.ListFaceImages(ctx, fx.tenant.ID, f.ID)
	if err != nil || len(imgs) != 4 {
		t.Fatalf("images after enrolment: %d %v", len(imgs), err)
	}
	stored := func() int {
		n := 0
		for _, im := range imgs {
			if ok, err := fx.svc.blobs.Exists(ctx, im.BlobKey); err != nil {
				t.Fatal(err)
			} else if ok {
				n++
			}
		}
		return n
	}
	// Within retention (30 days in the fixture's policy): nothing goes.
	if n, _, err := fx.svc.SweepRetention(ctx, time.Now().AddDate(0, 0, 29)); err != nil || n != 0 {
		t.Fatalf("sweep within retention: %d %v", n, err)
	}
	n, _, err := fx.svc.SweepRetention(ctx, time.Now().AddDate(0, 0, 31))
	if err != nil || n != 1 {
		t.Fatalf("sweep past retention: %d %v", n, err)
	}
	if _, err := fx.svc.GetFace(ctx, fx.tenant.ID, "sleeper"); err == nil {
		t.Fatal("the unused face is still there")
	}
	if left := stored(); left != 0 {
		t.Fatalf("%d sealed files left after the retention erasure", left)
	}
	ev, err := fx.st.ListAuditEvents(ctx, fx.tenant.ID, store.AuditCursor{}, 10)
	if err != nil || len(ev) == 0 || ev[0].Action != "face.erased" || ev[0].Actor != "system" || ev[0].Subject != "sleeper" {
		t.Fatalf("audit log: %+v %v", ev, err)
	}
	// retention_days 0 keeps everything.
	in, _ := fx.st.GetIntegration(ctx, fx.tenant.ID)
	in.Policy.RetentionDays = 0
	if err := fx.st.UpdateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	keeper := Tenant{ID: in.ID, Policy: in.Policy}
	if _, err := fx.svc.Start2FA(ctx, keeper, "keeper", StartOptions{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.RegisterStills(ctx, keeper, "keeper", stills); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := fx.svc.SweepRetention(ctx, time.Now().AddDate(10, 0, 0)); n != 0 {
		t.Fatalf("retention 0 erased %d faces", n)
	}
}

// A crash between writing an image file and committing its row leaves a
// file nothing names; the reconciler erases it (once it is old enough)
// and leaves every file a row or a capture session still refers to.
func TestReconcileErasesOrphanedImages(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	_, kept := fx.keepFirstFrame(t, "partway", 0)
	f, _ := fx.st.GetFaceByFaceID(ctx, fx.tenant.ID, "partway")
	orphan := fx.tenant.ID + "/faces/" + f.ID + "/img_crashed"
	if _, err := fx.svc.blobs.Put(ctx, orphan, strings.NewReader("sealed selfie"), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	// Too young: a request may still be about to commit its row.
	if n, err := fx.svc.ReconcileImages(ctx, OrphanAge); err != nil || n != 0 {
		t.Fatalf("young orphan: %d %v", n, err)
	}
	n, err := fx.svc.ReconcileImages(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("reconcile: %d %v", n, err)
	}
	if ok, _ := fx.svc.blobs.Exists(ctx, orphan); ok {
		t.Fatal("the orphaned file survived")
	}
	if ok, _ := fx.svc.blobs.Exists(ctx, kept); !ok {
		t.Fatal("the reconciler erased a frame an open capture session keeps")
	}
}

// A face used between the sweep's listing and its erasure stays: the
// erasure re-checks the last use inside its own transaction.
func TestRetentionSparesAFaceUsedMeanwhile(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	if _, err := fx.svc.Start2FA(ctx, fx.tenant, "returning", StartOptions{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	f, _ := fx.st.GetFaceByFaceID(ctx, fx.tenant.ID, "returning")
	time.Sleep(5 * time.Millisecond)
	before := time.Now()
	time.Sleep(5 * time.Millisecond)
	// Listed as unused, then verified before the erasure runs.
	if list, _ := fx.st.ListUnusedFaces(ctx, fx.tenant.ID, before, 10); len(list) != 1 {
		t.Fatalf("listed %d faces", len(list))
	}
	if err := fx.st.PassVerification(ctx, fx.tenant.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	err := fx.svc.deleteFace(ctx, fx.tenant.ID, "returning", "retention", unusedSince(ctx, fx.tenant.ID, before))
	if !errors.Is(err, errUsedMeanwhile) {
		t.Fatalf("erasure of a face used meanwhile: %v", err)
	}
	if _, err := fx.svc.GetFace(ctx, fx.tenant.ID, "returning"); err != nil {
		t.Fatalf("the face used meanwhile was erased: %v", err)
	}
}
