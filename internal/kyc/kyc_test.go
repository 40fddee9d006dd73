package kyc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/testenv"
)

var (
	engOnce sync.Once
	engine  *face.Engine
	engErr  error
)

// recorder keeps the events a case emits, as the outbox would.
type recorder struct {
	mu     sync.Mutex
	events []string // name:status
	last   map[string]faceauth.Event
}

func (r *recorder) Enqueue(ctx context.Context, tx store.Tx, integrationID string, ev faceauth.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	status := ""
	switch e := ev.(type) {
	case StatusChanged:
		status = e.Case.Status
	case Decided:
		status = e.Case.Status
	case Processed:
		status = e.Case.Status
	}
	r.events = append(r.events, ev.EventName()+":"+status)
	if r.last == nil {
		r.last = map[string]faceauth.Event{}
	}
	r.last[ev.EventName()] = ev
	return nil
}

func (r *recorder) Committed() {}

type fixture struct {
	svc     *Service
	faces   *faceauth.Service
	st      store.Store
	blobs   *blob.FS
	blobDir string
	tenant  faceauth.Tenant
	events  *recorder
	clock   time.Time
}

func (f *fixture) now() time.Time { return f.clock }

// newFixture is the real service on a temp SQLite store with the real
// engine and tesseract. The clock starts in 2010, when the fixture
// specimen passport (expiring 2012) was valid.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	models := testenv.ModelsDir(t)
	engOnce.Do(func() { engine, engErr = face.New(face.Config{ModelsDir: models, Threads: 2}) })
	if engErr != nil {
		t.Fatal(engErr)
	}
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.LoadOrCreateKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := crypto.NewKeyring(key)
	blobs, err := blob.NewFS(filepath.Join(dir, "blobs"), kr, 0)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{st: st, blobs: blobs, blobDir: filepath.Join(dir, "blobs"), events: &recorder{}, clock: time.Date(2010, 6, 1, 12, 0, 0, 0, time.UTC)}
	fx.faces = faceauth.New(st, blobs, kr, engine, faceauth.Options{Workers: 2})
	fx.svc = New(st, blobs, fx.faces, Options{PublicURL: "https://visage.test", URLKey: []byte("0123456789abcdef0123456789abcdef"),
		OCR: ocrReader(t), Events: fx.events, Now: fx.now})
	in := &store.Integration{Name: "t", Policy: store.Policy{MaxAttempts: 3, RetentionDays: 30}}
	if err := st.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	fx.tenant = faceauth.TenantOf(in)
	return fx
}

func ocrReader(t *testing.T) *document.Reader {
	r := &document.Reader{}
	dir := filepath.Join(testenv.Root(t), ".cache", "tessdata")
	if _, err := os.Stat(filepath.Join(dir, "eng.traineddata")); err == nil {
		r.OCR.LegacyTessdataDir = dir
	}
	if err := r.OCR.Available(); err != nil {
		if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
			t.Fatalf("REQUIRED BUT MISSING: %v", err)
		}
		t.Skipf("SKIPPED, MISSING: %v", err)
	}
	return r
}

var (
	amyFront    = []string{"faces", "bbt", "amy", "amy2.png"}
	amyTurned   = []string{"faces", "bbt", "amy", "amy1.png"}
	amyOther    = []string{"faces", "bbt", "amy", "amy5.png"}
	pennyFront  = []string{"faces", "bbt", "penny", "penny5.png"}
	pennyTurned = []string{"faces", "bbt", "penny", "penny3.png"}
	passport    = []string{"documents", "passport-td3.jpg"}
)

// amyPassport is the specimen passport with amy's face as its photo.
func amyPassport(t *testing.T, eraseMRZ bool) *Input {
	erase := 0.0
	if eraseMRZ {
		erase = 0.72
	}
	return &Input{Data: testenv.DocumentWithFace(t, passport, testenv.Box(testenv.SpecimenPhoto), amyOther, testenv.Box{}, erase), FileName: "passport.jpg"}
}

// selfieVideo is a 3 s clip: the person frontal, then turning each way.
func selfieVideo(t *testing.T, person, turned []string) *Input {
	frames := testenv.CameraFrames(t, testenv.Segment{Photo: person, Frames: 10},
		testenv.Segment{Photo: turned, Frames: 10}, testenv.Segment{Photo: turned, Mirror: true, Frames: 10})
	path := testenv.EncodeVideo(t, "selfie.webm", "vp8", 10, frames)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Input{Path: path, Size: st.Size(), FileName: "selfie.webm", ContentType: "video/webm"}
}

func (f *fixture) open(t *testing.T) *Case {
	t.Helper()
	c, err := f.svc.Create(context.Background(), f.tenant, NewCase{UniqueIdentifier: "user-1", FirstName: "Anna Maria",
		LastName: "Eriksson", Email: "anna@example.com", DocumentType: DocPassport})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkOf(c *Case, name string) *Check {
	for i, ch := range c.Results.Checks {
		if ch.Name == name {
			return &c.Results.Checks[i]
		}
	}
	return nil
}

func logChecks(t *testing.T, c *Case) {
	t.Helper()
	for _, ch := range c.Results.Checks {
		score := ""
		if ch.Score != nil {
			score = fmt.Sprintf(" score %.2f", *ch.Score)
		}
		t.Logf("  %-24s %-7s %s%s %s", ch.Name, ch.Status, ch.Reason, score, ch.Detail)
	}
}

// The same person on the document and in the selfie video: approved, with
// the MRZ's details, through every status, with its events.
func TestSamePersonApproved(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	c := fx.open(t)
	if c.Status != StatusNotStarted || c.RequestURL == "" {
		t.Fatalf("created: %+v", c)
	}
	token := c.RequestURL[len("https://visage.test/verify/"):]
	opened, _, err := fx.svc.Open(ctx, token)
	if err != nil || opened.Status != StatusStarted {
		t.Fatalf("open: %+v %v", opened, err)
	}
	if _, _, err := fx.svc.Open(ctx, token+"x"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("forged token: %v", err)
	}
	got, _, err := fx.svc.SubmitLink(ctx, token, Submission{DocumentFront: amyPassport(t, false), SelfieVideo: selfieVideo(t, amyFront, amyTurned)})
	if err != nil {
		t.Fatal(err)
	}
	logChecks(t, got)
	if got.Status != StatusApproved || got.Reason != "" {
		t.Fatalf("status %s (%s)", got.Status, got.Reason)
	}
	if m := checkOf(got, "face_match"); m == nil || *m.Score < 70 {
		t.Fatalf("face match %+v", m)
	}
	if got.Details.Surname == nil || *got.Details.Surname != "ERIKSSON" || got.Details.DateOfBirth == nil || got.Details.IDNumber == nil {
		t.Fatalf("details %+v", got.Details)
	}
	if len(got.Files) != 2 || got.FileOf(FileSelfieVideo) == nil || got.FileOf(FileDocumentFront).URL == "" {
		t.Fatalf("files %+v", got.Files)
	}
	want := []string{"verification.status:Not Started", "verification.status:Started", "verification.status:Submitted",
		"verification.status:Approved", "verification.processed:Approved", "verification.decided:Approved"}
	if !equalStrings(fx.events.events, want) {
		t.Fatalf("events %v\nwant   %v", fx.events.events, want)
	}
	// A decided case takes no second submission.
	if _, err := fx.svc.Submit(ctx, fx.tenant, c.ID, Submission{DocumentFront: amyPassport(t, false), Selfie: &Input{Data: testenv.CameraFrame(t, false, amyFront...)}}); !fault.Is(err, fault.Closed) {
		t.Fatalf("second submission: %v", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Outcomes: another person, an expired document, a face swap, a selfie
// photo, an unreadable MRZ reviewed by an operator.
func TestOutcomes(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	submit := func(t *testing.T, sub Submission) *Case {
		t.Helper()
		c := fx.open(t)
		got, err := fx.svc.Submit(ctx, fx.tenant, c.ID, sub)
		if err != nil {
			t.Fatal(err)
		}
		logChecks(t, got)
		return got
	}
	t.Run("another person", func(t *testing.T) {
		got := submit(t, Submission{DocumentFront: amyPassport(t, false), SelfieVideo: selfieVideo(t, pennyFront, pennyTurned)})
		if got.Status != StatusDeclined || got.Reason != ReasonFaceMismatch {
			t.Fatalf("%s (%s)", got.Status, got.Reason)
		}
	})
	t.Run("face swap mid-video", func(t *testing.T) {
		frames := testenv.CameraFrames(t, testenv.Segment{Photo: amyFront, Frames: 12}, testenv.Segment{Photo: amyTurned, Frames: 8},
			testenv.Segment{Photo: pennyFront, Frames: 10})
		path := testenv.EncodeVideo(t, "swap.mp4", "h264", 10, frames)
		st, _ := os.Stat(path)
		got := submit(t, Submission{DocumentFront: amyPassport(t, false), SelfieVideo: &Input{Path: path, Size: st.Size(), FileName: "swap.mp4"}})
		if got.Status != StatusDeclined || got.Reason != ReasonFaceSwap {
			t.Fatalf("%s (%s)", got.Status, got.Reason)
		}
	})
	t.Run("selfie photo", func(t *testing.T) {
		got := submit(t, Submission{DocumentFront: amyPassport(t, false), Selfie: &Input{Data: testenv.CameraFrame(t, false, amyFront...)}})
		if got.Status != StatusApproved {
			t.Fatalf("%s (%s)", got.Status, got.Reason)
		}
	})
	t.Run("expired document", func(t *testing.T) {
		fx.clock = time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC)
		defer func() { fx.clock = time.Date(2010, 6, 1, 12, 0, 0, 0, time.UTC) }()
		got := submit(t, Submission{DocumentFront: amyPassport(t, false), Selfie: &Input{Data: testenv.CameraFrame(t, false, amyFront...)}})
		if got.Status != StatusDeclined || got.Reason != ReasonExpired {
			t.Fatalf("%s (%s)", got.Status, got.Reason)
		}
	})
	t.Run("unreadable MRZ, reviewed", func(t *testing.T) {
		got := submit(t, Submission{DocumentFront: amyPassport(t, true), Selfie: &Input{Data: testenv.CameraFrame(t, false, amyFront...)}})
		if got.Status != StatusUnderReview || got.Reason != ReasonMRZUnreadable {
			t.Fatalf("%s (%s)", got.Status, got.Reason)
		}
		if _, err := fx.svc.Decide(ctx, fx.tenant.ID, got.ID, true, "photo checked by hand", "op@example.com"); err != nil {
			t.Fatal(err)
		}
		after, _ := fx.svc.Get(ctx, fx.tenant.ID, got.ID)
		if after.Status != StatusApproved || after.Decision == nil || after.Decision.Note != "photo checked by hand" || after.Results == nil {
			t.Fatalf("after review: %+v", after)
		}
		if d, ok := fx.events.last[EventDecided].(Decided); !ok || !d.ByReview || d.Case.ID != got.ID {
			t.Fatalf("decided event %+v", fx.events.last[EventDecided])
		}
		if _, err := fx.svc.Decide(ctx, fx.tenant.ID, got.ID, false, "", "op"); !fault.Is(err, fault.Conflict) {
			t.Fatalf("deciding twice: %v", err)
		}
	})
}

// A submission refused for its files leaves no file and no status change,
// and counts as an attempt; the fifth declines the case.
func TestRefusedSubmissionLeavesNothing(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	c := fx.open(t)
	// An MP4 cut short, as an interrupted upload leaves it.
	frames := testenv.CameraFrames(t, testenv.Segment{Photo: amyFront, Frames: 20}, testenv.Segment{Photo: amyTurned, Frames: 10})
	data, _ := os.ReadFile(testenv.EncodeVideo(t, "selfie.mp4", "h264", 10, frames))
	data = data[:len(data)*2/5]
	bad := filepath.Join(t.TempDir(), "broken.mp4")
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= maxAttempts; i++ {
		_, err := fx.svc.Submit(ctx, fx.tenant, c.ID, Submission{DocumentFront: amyPassport(t, false),
			SelfieVideo: &Input{Path: bad, Size: int64(len(data)), FileName: "broken.mp4"}})
		if i < maxAttempts && !fault.Is(err, fault.InvalidVideo) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		got, _ := fx.svc.Get(ctx, fx.tenant.ID, c.ID)
		files, _ := fx.st.ListVerificationFiles(ctx, fx.tenant.ID, c.ID)
		if len(files) != 0 || got.Attempts != i {
			t.Fatalf("attempt %d: %d files left, %d attempts", i, len(files), got.Attempts)
		}
		if i < maxAttempts && got.Status != StatusNotStarted {
			t.Fatalf("attempt %d: status %s", i, got.Status)
		}
	}
	got, _ := fx.svc.Get(ctx, fx.tenant.ID, c.ID)
	if got.Status != StatusDeclined || got.Reason != ReasonTooManyAttempts {
		t.Fatalf("after %d attempts: %s (%s)", maxAttempts, got.Status, got.Reason)
	}
	entries, _ := os.ReadDir(filepath.Join(fx.blobDir, fx.tenant.ID, "verifications", c.ID))
	if len(entries) != 0 {
		t.Fatalf("%d blobs left behind", len(entries))
	}
}

// Timers: an unopened link expires, an idle started case is abandoned;
// retention purges files and their URLs answer Gone.
func TestTimersAndRetention(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	unopened, err := fx.svc.Create(ctx, fx.tenant, NewCase{UniqueIdentifier: "late", LinkTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	idle := fx.open(t)
	if _, _, err := fx.svc.Open(ctx, fx.svc.LinkToken(idle.ID)); err != nil {
		t.Fatal(err)
	}
	done := fx.open(t)
	if _, err := fx.svc.Submit(ctx, fx.tenant, done.ID, Submission{DocumentFront: amyPassport(t, false), Selfie: &Input{Data: testenv.CameraFrame(t, false, amyFront...)}}); err != nil {
		t.Fatal(err)
	}
	fx.clock = fx.clock.Add(2 * time.Hour)
	if n, err := fx.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after 2 h: %d %v", n, err)
	}
	if v, _ := fx.svc.Get(ctx, fx.tenant.ID, unopened.ID); v.Status != StatusExpired || v.Reason != ReasonLinkExpired {
		t.Fatalf("unopened: %s", v.Status)
	}
	if _, _, err := fx.svc.Open(ctx, fx.svc.LinkToken(unopened.ID)); !fault.Is(err, fault.Expired) {
		t.Fatalf("opening an expired link: %v", err)
	}
	fx.clock = fx.clock.Add(DefaultAbandonAfter)
	if n, err := fx.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after a day: %d %v", n, err)
	}
	if v, _ := fx.svc.Get(ctx, fx.tenant.ID, idle.ID); v.Status != StatusAbandoned {
		t.Fatalf("idle: %s", v.Status)
	}
	d, _ := fx.svc.Get(ctx, fx.tenant.ID, done.ID)
	front := d.FileOf(FileDocumentFront)
	if _, err := fx.svc.FileData(ctx, fx.tenant.ID, front.ID); err != nil {
		t.Fatalf("file before retention: %v", err)
	}
	fx.clock = fx.clock.AddDate(0, 0, DefaultFileRetentionDays)
	if n, err := fx.svc.Purge(ctx); err != nil || n != 2 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if _, err := fx.svc.FileData(ctx, fx.tenant.ID, front.ID); !fault.Is(err, fault.Gone) {
		t.Fatalf("file after retention: %v", err)
	}
	if d, _ := fx.svc.Get(ctx, fx.tenant.ID, done.ID); d.Results == nil || d.Status != StatusApproved || !d.FileOf(FileDocumentFront).Purged {
		t.Fatalf("case after purge: %+v", d)
	}
	if ok, _ := fx.blobs.Exists(ctx, fx.tenant.ID+"/verifications/"+done.ID+"/"+front.ID); ok {
		t.Fatal("purged blob still stored")
	}
}

// A pending file (a crash between the blob write and the commit) is
// erased by the purge once it is older than any submission.
func TestPendingFilesReconciled(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	c := fx.open(t)
	v, _ := fx.st.GetVerification(ctx, fx.tenant.ID, c.ID)
	files, err := fx.svc.storeFiles(ctx, v, Submission{DocumentFront: amyPassport(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	key := files[0].BlobKey
	if n, _ := fx.svc.Purge(ctx); n != 0 {
		t.Fatal("a fresh pending file was purged")
	}
	fx.clock = fx.clock.Add(time.Hour)
	if n, err := fx.svc.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("reconcile: %d %v", n, err)
	}
	if ok, _ := fx.blobs.Exists(ctx, key); ok {
		t.Fatal("the crash's blob is still stored")
	}
}
