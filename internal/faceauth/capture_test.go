package faceauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/testenv"
)

var (
	engOnce sync.Once
	engine  *face.Engine
	engErr  error
)

// recorder captures events as the webhook outbox would receive them.
type recorder struct {
	mu     sync.Mutex
	events []string
	last   any
}

func (r *recorder) Enqueue(ctx context.Context, tx store.Tx, integrationID, event string, payload any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event)
	r.last = payload
	return nil
}

func (r *recorder) Committed() {}

type fixture struct {
	svc    *Service
	st     store.Store
	tenant Tenant
	events *recorder
}

// newFixture builds the real service on a temp SQLite store with the real
// engine; required lists the challenges the tenant's policy asks.
func newFixture(t *testing.T, required ...Challenge) *fixture {
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
	rec := &recorder{}
	svc := New(st, blobs, kr, engine, Options{Workers: 2, PublicURL: "https://visage.test", Events: rec})
	pol := store.Policy{MatchThreshold: 70, LivenessThreshold: 0.5, MaxAttempts: 3, RetentionDays: 30}
	for _, c := range required {
		pol.RequiredChallenges = append(pol.RequiredChallenges, string(c))
	}
	in := &store.Integration{Name: "t", Policy: pol, CallbackURLTemplate: "https://client.test/done?user=[user_id]&status=[status]"}
	if err := st.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, st: st, tenant: Tenant{ID: in.ID, Policy: pol}, events: rec}
}

func frame(t *testing.T, mirror bool, parts ...string) []byte {
	return testenv.CameraFrame(t, mirror, parts...)
}

// framesFor are real frames that meet each challenge for one person (amy):
// a frontal smile, and a head turned to her right, mirrored for her left.
func framesFor(t *testing.T) map[Challenge][]byte {
	return map[Challenge][]byte{
		ChallengeSmile: frame(t, false, "faces", "bbt", "amy", "amy2.png"),
		ChallengeRight: frame(t, false, "faces", "bbt", "amy", "amy1.png"),
		ChallengeLeft:  frame(t, true, "faces", "bbt", "amy", "amy1.png"),
	}
}

func TestHostedCaptureCompletes(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	start, err := fx.svc.Start2FA(ctx, fx.tenant, "amy-farrah", 0)
	if err != nil || start.Registered || start.URL != "https://visage.test/capture/"+start.Token {
		t.Fatalf("start: %+v %v", start, err)
	}
	st, err := fx.svc.State(ctx, start.Token)
	if err != nil || st.Status != CaptureInProgress || len(st.Steps) != 3 {
		t.Fatalf("state: %+v %v", st, err)
	}
	frames := framesFor(t)
	neutralFront := frame(t, false, "faces", "bbt", "amy", "amy4.png")
	for i, step := range st.Steps {
		c := step.Challenge
		// A frame that does not meet the challenge gets its instruction.
		if c == ChallengeLeft || c == ChallengeRight {
			res, err := fx.svc.Frame(ctx, start.Token, c, st.Nonce, frames[ChallengeSmile])
			if err != nil || res.Met || (res.Feedback != FeedbackTurnLeft && res.Feedback != FeedbackTurnRight) {
				t.Fatalf("%s with a frontal frame: %+v %v", c, res, err)
			}
			// The wrong side does not count.
			wrong := frames[ChallengeLeft]
			if c == ChallengeLeft {
				wrong = frames[ChallengeRight]
			}
			if res, _ := fx.svc.Frame(ctx, start.Token, c, st.Nonce, wrong); res.Met {
				t.Fatalf("%s met by a turn to the other side", c)
			}
		}
		if c == ChallengeSmile {
			if res, _ := fx.svc.Frame(ctx, start.Token, c, st.Nonce, neutralFront); res.Met {
				t.Fatalf("smile met by a neutral face (feedback %s)", res.Feedback)
			}
		}
		res, err := fx.svc.Frame(ctx, start.Token, c, st.Nonce, frames[c])
		if err != nil || !res.Met {
			t.Fatalf("%s: %+v %v", c, res, err)
		}
		if i == len(st.Steps)-1 {
			if res.Status != CaptureCompleted || res.RedirectURL != "https://client.test/done?user=amy-farrah&status=completed" {
				t.Fatalf("last step: %+v", res)
			}
		}
	}
	v, err := fx.svc.GetFace(ctx, fx.tenant.ID, "amy-farrah")
	if err != nil || !v.Enabled || len(v.Images) != 3 || v.Templates != 1 {
		t.Fatalf("face after capture: %+v %v", v, err)
	}
	if len(fx.events.events) != 1 || fx.events.events[0] != EventImagesStored {
		t.Fatalf("events: %v", fx.events.events)
	}
	// The registered face verifies the same person and not another.
	ok, err := fx.svc.Verify(ctx, fx.tenant, "amy-farrah", Image{Data: frame(t, false, "faces", "bbt", "amy", "amy5.png")})
	if err != nil || !ok.Match {
		t.Fatalf("verify amy: %+v %v", ok, err)
	}
	no, err := fx.svc.Verify(ctx, fx.tenant, "amy-farrah", Image{Data: frame(t, false, "faces", "bbt", "penny", "penny5.png")})
	if err != nil || no.Match {
		t.Fatalf("verify penny as amy: %+v %v", no, err)
	}
	// A second link for a registered face is refused.
	again, err := fx.svc.Start2FA(ctx, fx.tenant, "amy-farrah", 0)
	if err != nil || !again.Registered {
		t.Fatalf("second start: %+v %v", again, err)
	}
}

// Once a face is registered, its other open links are dead: a leftover
// link must not let someone add their own face to the account.
func TestLeftoverLinkCannotRegisterAgain(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	first, _ := fx.svc.Start2FA(ctx, fx.tenant, "victim", 0)
	second, _ := fx.svc.Start2FA(ctx, fx.tenant, "victim", 0)
	if first.Token == second.Token {
		t.Fatal("two links share a token")
	}
	st2, _ := fx.svc.State(ctx, second.Token)
	// The attacker makes progress on the second link first.
	penny := map[Challenge][]byte{
		ChallengeSmile: frame(t, false, "faces", "bbt", "penny", "penny5.png"),
		ChallengeRight: frame(t, false, "faces", "bbt", "penny", "penny3.png"),
		ChallengeLeft:  frame(t, true, "faces", "bbt", "penny", "penny3.png"),
	}
	c0 := st2.Steps[0].Challenge
	if res, err := fx.svc.Frame(ctx, second.Token, c0, st2.Nonce, penny[c0]); err != nil || !res.Met {
		t.Fatalf("penny %s: %+v %v", c0, res, err)
	}
	// The owner completes the first link.
	st1, _ := fx.svc.State(ctx, first.Token)
	amy := framesFor(t)
	for _, step := range st1.Steps {
		if res, err := fx.svc.Frame(ctx, first.Token, step.Challenge, st1.Nonce, amy[step.Challenge]); err != nil || !res.Met {
			t.Fatalf("amy %s: %+v %v", step.Challenge, res, err)
		}
	}
	st2, _ = fx.svc.State(ctx, second.Token)
	if st2.Status != CaptureFailed || st2.Reason != "superseded" {
		t.Fatalf("leftover link after registration: %+v", st2)
	}
	c1 := st2.Steps[1].Challenge
	if res, err := fx.svc.Frame(ctx, second.Token, c1, st2.Nonce, penny[c1]); err != nil || res.Met || res.Status != CaptureFailed {
		t.Fatalf("frame on a superseded link: %+v %v", res, err)
	}
	if v, _ := fx.svc.Verify(ctx, fx.tenant, "victim", Image{Data: penny[ChallengeSmile]}); v.Match {
		t.Fatal("penny verifies as the victim")
	}
	if v, _ := fx.svc.GetFace(ctx, fx.tenant.ID, "victim"); len(v.Images) != 3 {
		t.Fatalf("victim has %d images", len(v.Images))
	}
}

func TestCaptureRefusesSpoofsAndOtherPeople(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	start, _ := fx.svc.Start2FA(ctx, fx.tenant, "u1", 0)
	st, _ := fx.svc.State(ctx, start.Token)
	first := st.Steps[0].Challenge
	print := frame(t, false, "liveness", "spoof", "minivision_F1_print.jpg")
	res, err := fx.svc.Frame(ctx, start.Token, first, st.Nonce, print)
	if err != nil || res.Met || res.Feedback != FeedbackSpoof {
		t.Fatalf("printed photo: %+v %v", res, err)
	}
	// Meet the first challenge as amy, then offer penny for the next.
	frames := framesFor(t)
	if res, err := fx.svc.Frame(ctx, start.Token, first, st.Nonce, frames[first]); err != nil || !res.Met {
		t.Fatalf("%s: %+v %v", first, res, err)
	}
	second := st.Steps[1].Challenge
	other := map[Challenge][]byte{
		ChallengeSmile: frame(t, false, "faces", "bbt", "penny", "penny3.png"),
		ChallengeRight: frame(t, false, "faces", "bbt", "penny", "penny3.png"),
		ChallengeLeft:  frame(t, true, "faces", "bbt", "penny", "penny3.png"),
	}
	if second == ChallengeSmile {
		other[ChallengeSmile] = frame(t, false, "faces", "bbt", "penny", "penny5.png")
	}
	res, err = fx.svc.Frame(ctx, start.Token, second, st.Nonce, other[second])
	if err != nil || res.Met || res.Feedback != FeedbackMismatch {
		t.Fatalf("another person: %+v %v", res, err)
	}
	// Out-of-order frames and a foreign nonce are refused.
	if _, err := fx.svc.Frame(ctx, start.Token, st.Steps[2].Challenge, st.Nonce, frames[st.Steps[2].Challenge]); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("out of order: %v", err)
	}
	if _, err := fx.svc.Frame(ctx, start.Token, second, "bogus", frames[second]); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("bad nonce: %v", err)
	}
	if _, err := fx.svc.State(ctx, "cap_unknown"); !errors.Is(err, ErrCaptureNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}

// The eye-blink challenge needs open → closed → open. No fixture shows one
// person blinking, so the state machine is driven with eye-state readings
// the engine made on real frames: open eyes (amy, frontal) and eyes shut
// tight in laughter (a frame of the Hamilton clip, read as 0.00 open).
func TestBlinkNeedsOpenClosedOpen(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	analyse := func(data []byte) face.Face {
		_, faces, err := fx.svc.analyze(ctx, data, face.Options{Attributes: true, MaxFaces: 3})
		if err != nil || len(faces) == 0 {
			t.Fatalf("analyse: %v", err)
		}
		return faces[0]
	}
	open := analyse(frame(t, false, "faces", "bbt", "amy", "amy2.png"))
	closed := open
	var shut float32 = 1
	for _, f := range hamiltonFaces(t, fx) {
		if f.EyesOpen != nil && *f.EyesOpen < shut {
			shut = *f.EyesOpen
		}
	}
	closed.EyesOpen = &shut
	t.Logf("eyes open reading: open %.3f, shut %.3f", *open.EyesOpen, shut)
	p := DefaultChallengePolicy
	var st stepState
	seq := []struct {
		f    face.Face
		met  bool
		want string
	}{
		{open, false, FeedbackBlinkNow},   // open seen
		{open, false, FeedbackBlinkNow},   // still waiting for the blink
		{closed, false, FeedbackOpenEyes}, // closed seen
		{open, true, FeedbackMet},         // reopened
	}
	for i, s := range seq {
		met, fb := p.advance(ChallengeEyeBlink, s.f, &st)
		if met != s.met || fb != s.want {
			t.Fatalf("frame %d: met %v %s, want %v %s", i, met, fb, s.met, s.want)
		}
	}
	// Open eyes alone, however many frames, never pass.
	st = stepState{}
	for i := 0; i < 10; i++ {
		if met, _ := p.advance(ChallengeEyeBlink, open, &st); met {
			t.Fatal("blink met without closed eyes")
		}
	}
}

func hamiltonFaces(t *testing.T, fx *fixture) []face.Face {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "f.jpg")
	if err := extractFrame(testenv.Fixture(t, "video", "short_hamilton_clip.mp4"), 9.0, out); err != nil {
		t.Skipf("ffmpeg: %v", err)
	}
	data, _ := os.ReadFile(out)
	_, faces, err := fx.svc.analyze(context.Background(), data, face.Options{Attributes: true, MaxFaces: 5})
	if err != nil {
		t.Fatal(err)
	}
	return faces
}

func TestStoreImagesAPI(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	start, _ := fx.svc.Start2FA(ctx, fx.tenant, "api-user", 0)
	frames := framesFor(t)
	imgs := map[Challenge][]Image{}
	for c, f := range frames {
		imgs[c] = []Image{{Data: f, Name: string(c)}}
	}
	// Two right turns and no left turn: refused, nothing stored.
	bad := map[Challenge][]Image{ChallengeSmile: imgs[ChallengeSmile], ChallengeRight: imgs[ChallengeRight], ChallengeLeft: imgs[ChallengeRight]}
	_, err := fx.svc.StoreImages(ctx, fx.tenant, start.Face.ID, bad)
	var ce *ChallengeError
	if !errors.As(err, &ce) || ce.Challenge != ChallengeLeft || ce.Feedback != FeedbackTurnLeft {
		t.Fatalf("wrong-side images: %v", err)
	}
	if v, _ := fx.svc.GetFace(ctx, fx.tenant.ID, "api-user"); len(v.Images) != 0 || v.Templates != 0 {
		t.Fatalf("refused images left state behind: %+v", v)
	}
	v, err := fx.svc.StoreImages(ctx, fx.tenant, start.Face.ID, imgs)
	if err != nil || len(v.Images) != 3 || !v.Enabled {
		t.Fatalf("store images: %+v %v", v, err)
	}
}

// Frames kept by an unfinished session are erased with the face, and an
// expired session's frames are swept.
func TestUnfinishedCapturesAreErased(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	frames := framesFor(t)
	keep := func(faceID string) (string, string) {
		start, err := fx.svc.Start2FA(ctx, fx.tenant, faceID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fx.svc.State(ctx, start.Token)
		c := st.Steps[0].Challenge
		if res, err := fx.svc.Frame(ctx, start.Token, c, st.Nonce, frames[c]); err != nil || !res.Met {
			t.Fatalf("%s: %+v %v", c, res, err)
		}
		l, _ := fx.svc.loadSession(ctx, start.Token)
		return start.Token, l.prog.Steps[c].BlobKey
	}
	exists := func(key string) bool {
		ok, err := fx.svc.blobs.Exists(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	_, key := keep("leaver")
	if !exists(key) {
		t.Fatal("kept frame not stored")
	}
	if err := fx.svc.DeleteFace(ctx, fx.tenant.ID, "leaver"); err != nil {
		t.Fatal(err)
	}
	if exists(key) {
		t.Fatal("deleting the face left its capture frame behind")
	}
	token, key := keep("slowpoke")
	n, err := fx.svc.SweepCaptures(ctx, time.Now().Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if exists(key) {
		t.Fatal("sweeping left the expired session's frame behind")
	}
	if st, _ := fx.svc.State(ctx, token); st.Status != CaptureExpired {
		t.Fatalf("swept session status %s", st.Status)
	}
}

func TestValidateFaceID(t *testing.T) {
	for _, bad := range []string{"", "x\xffy", "tab\there", string(make([]byte, 129))} {
		if err := ValidateFaceID(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"user-42", "émilie@example.com", "a/b", "用户"} {
		if err := ValidateFaceID(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}
