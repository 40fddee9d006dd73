package faceauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
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
	last   Event
}

func (r *recorder) Enqueue(ctx context.Context, tx store.Tx, integrationID string, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev.EventName())
	r.last = ev
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
	start, err := fx.svc.Start2FA(ctx, fx.tenant, "amy-farrah", StartOptions{})
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
	if len(fx.events.events) != 1 || fx.events.events[0] != EventFaceRegistered {
		t.Fatalf("events: %v", fx.events.events)
	}
	if ev := fx.events.last.(FaceRegistered); ev.FaceID != "amy-farrah" || len(ev.Images) != 3 || ev.Liveness != store.LivenessActive {
		t.Fatalf("event %+v", ev)
	}
	if v.Liveness != store.LivenessActive {
		t.Fatalf("face liveness %q, want active", v.Liveness)
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
	again, err := fx.svc.Start2FA(ctx, fx.tenant, "amy-farrah", StartOptions{})
	if err != nil || !again.Registered {
		t.Fatalf("second start: %+v %v", again, err)
	}
}

// Once a face is registered, its other open links are dead: a leftover
// link must not let someone add their own face to the account.
func TestLeftoverLinkCannotRegisterAgain(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	first, _ := fx.svc.Start2FA(ctx, fx.tenant, "victim", StartOptions{})
	second, _ := fx.svc.Start2FA(ctx, fx.tenant, "victim", StartOptions{})
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
	if st2.Status != CaptureFailed || st2.Reason != ReasonSuperseded {
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
	start, _ := fx.svc.Start2FA(ctx, fx.tenant, "u1", StartOptions{})
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
		met, fb := p.advance(ChallengeBlink, s.f, &st)
		if met != s.met || fb != s.want {
			t.Fatalf("frame %d: met %v %s, want %v %s", i, met, fb, s.met, s.want)
		}
	}
	// Open eyes alone, however many frames, never pass.
	st = stepState{}
	for i := 0; i < 10; i++ {
		if met, _ := p.advance(ChallengeBlink, open, &st); met {
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

// Still images uploaded through the API (the vendor's store-images flow)
// register under the default policy: each still must show one live,
// usable face of the same person; the expression and turn are checked only
// when the policy asks. Every failing image is named at once.
func TestRegisterStills(t *testing.T) {
	fx := newFixture(t) // default policy: all four challenges
	ctx := context.Background()
	start, err := fx.svc.Start2FA(ctx, fx.tenant, "api-user", StartOptions{Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	stills := amyStills(t)
	// One image missing: refused, naming it.
	_, err = fx.svc.RegisterStills(ctx, fx.tenant, "api-user", stills[:3])
	if fe := fault.As(err); fe.Kind != fault.MissingField || len(fe.Problems) != 1 || fe.Problems[0].Name != string(ChallengeRight) {
		t.Fatalf("missing image: %+v", fe)
	}
	// Two bad images (a print, another person): both named, nothing stored.
	bad := append([]Image(nil), stills...)
	bad[1].Data = frame(t, false, "liveness", "spoof", "minivision_F1_print.jpg")
	bad[3].Data = frame(t, false, "faces", "bbt", "penny", "penny3.png")
	_, err = fx.svc.RegisterStills(ctx, fx.tenant, "api-user", bad)
	fe := fault.As(err)
	if len(fe.Problems) != 2 || fe.Problems[0].Name != "eyeblink" || fe.Problems[1].Name != "right" {
		t.Fatalf("two bad images: %+v", fe)
	}
	if v, _ := fx.svc.GetFace(ctx, fx.tenant.ID, "api-user"); len(v.Images) != 0 || v.Templates != 0 {
		t.Fatalf("refused images left state behind: %+v", v)
	}
	// The four stills, in any order, register and verify.
	order := []Image{stills[3], stills[0], stills[2], stills[1]}
	v, err := fx.svc.RegisterStills(ctx, fx.tenant, start.Face.FaceID, order)
	if err != nil || len(v.Images) != 4 || !v.Enabled || v.Liveness != store.LivenessPassive || v.Templates < 1 {
		t.Fatalf("register stills: %+v %v", v, err)
	}
	if ev, ok := fx.events.last.(FaceRegistered); !ok || len(ev.Images) != 4 || ev.Liveness != store.LivenessPassive {
		t.Fatalf("event %+v", fx.events.last)
	}
	ok, err := fx.svc.Verify(ctx, fx.tenant, "api-user", Image{Data: frame(t, false, "faces", "bbt", "amy", "amy5.png")})
	if err != nil || !ok.Verified {
		t.Fatalf("verify after stills: %+v %v", ok, err)
	}
	if _, err := fx.svc.RegisterStills(ctx, fx.tenant, "api-user", stills); !fault.Is(err, fault.AlreadyEnrolled) {
		t.Fatalf("second registration: %v", err)
	}
}

// With StillChallenges the expression and turn must be shown: a left turn
// sent as the right one is refused.
func TestRegisterStillsChallenges(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	fx.tenant.Policy.StillChallenges = true
	ctx := context.Background()
	if _, err := fx.svc.Start2FA(ctx, fx.tenant, "strict", StartOptions{}); err != nil {
		t.Fatal(err)
	}
	frames := framesFor(t)
	imgs := []Image{
		{Data: frames[ChallengeSmile], Name: "smile", Challenge: string(ChallengeSmile)},
		{Data: frames[ChallengeLeft], Name: "left", Challenge: string(ChallengeLeft)},
		{Data: frames[ChallengeLeft], Name: "right", Challenge: string(ChallengeRight)},
	}
	_, err := fx.svc.RegisterStills(ctx, fx.tenant, "strict", imgs)
	if fe := fault.As(err); fe.Kind != fault.ChallengeNotMet || len(fe.Problems) != 1 || fe.Problems[0].Name != "right" {
		t.Fatalf("wrong-side still: %+v", fe)
	}
	imgs[2].Data = frames[ChallengeRight]
	if _, err := fx.svc.RegisterStills(ctx, fx.tenant, "strict", imgs); err != nil {
		t.Fatalf("right stills: %v", err)
	}
}

// Frames kept by an unfinished session are erased with the face, and an
// expired session's frames are swept.
func TestUnfinishedCapturesAreErased(t *testing.T) {
	fx := newFixture(t, ChallengeSmile, ChallengeLeft, ChallengeRight)
	ctx := context.Background()
	keep := func(faceID string) (string, string) { return fx.keepFirstFrame(t, faceID, time.Minute) }
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

// The database holds a hash of a link's token, never the token: a copy of
// the database (or a backup) does not open anyone's capture page. Links
// opened before the change, stored under their token, keep working.
func TestCaptureTokensStoredHashed(t *testing.T) {
	fx := newFixture(t, ChallengeSmile)
	ctx := context.Background()
	start, err := fx.svc.Start2FA(ctx, fx.tenant, "hashed", StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := fx.st.GetFaceByFaceID(ctx, fx.tenant.ID, "hashed")
	sessions, err := fx.st.ListCaptureSessions(ctx, fx.tenant.ID, f.ID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions: %v %v", sessions, err)
	}
	if id := sessions[0].ID; id == start.Token || strings.Contains(id, start.Token[4:]) {
		t.Fatalf("stored id %q reveals the token %q", id, start.Token)
	}
	if _, err := fx.svc.State(ctx, start.Token); err != nil {
		t.Fatalf("the token no longer opens its session: %v", err)
	}
	// The stored id itself is not a token.
	if _, err := fx.svc.State(ctx, sessions[0].ID); !errors.Is(err, ErrCaptureNotFound) {
		t.Fatalf("the stored id opened the session: %v", err)
	}
	legacy := sessions[0]
	legacy.ID = "cap_" + strings.Repeat("ab", 24)
	if err := fx.st.CreateCaptureSession(ctx, &legacy); err != nil {
		t.Fatal(err)
	}
	if st, err := fx.svc.State(ctx, legacy.ID); err != nil || st.Status != CaptureInProgress {
		t.Fatalf("a session opened before hashing: %+v %v", st, err)
	}
}

// keepFirstFrame opens a capture link for faceID and meets its first
// challenge, so the session keeps one frame; it returns the link's token
// and the frame's blob key.
func (fx *fixture) keepFirstFrame(t *testing.T, faceID string, ttl time.Duration) (token, blobKey string) {
	t.Helper()
	ctx := context.Background()
	frames := framesFor(t)
	start, err := fx.svc.Start2FA(ctx, fx.tenant, faceID, StartOptions{TTL: ttl})
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

// amyStills are four API stills of one person, one per challenge (smile,
// blink, turn left, turn right).
func amyStills(t *testing.T) []Image {
	amy := func(name string, mirror bool) []byte { return frame(t, mirror, "faces", "bbt", "amy", name) }
	return []Image{
		{Data: amy("amy2.png", false), Name: "smile", Challenge: string(ChallengeSmile)},
		{Data: amy("amy4.png", false), Name: "eyeblink", Challenge: string(ChallengeBlink)},
		{Data: amy("amy1.png", true), Name: "left", Challenge: string(ChallengeLeft)},
		{Data: amy("amy1.png", false), Name: "right", Challenge: string(ChallengeRight)},
	}
}
