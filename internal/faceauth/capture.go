package faceauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/store"
)

// Limits of one capture session: enough for a slow, careful person at
// three frames a second, small enough that a script cannot grind the
// liveness checks.
const (
	maxFramesPerSession = 900
	maxSpoofFrames      = 15
	maxMismatchFrames   = 15
	DefaultCaptureTTL   = 30 * time.Minute
	MaxCaptureTTL       = 30 * 24 * time.Hour
	captureKind2FA      = "2fa-enrol"
)

// captureProgress is the session's mutable state (store: progress JSON).
type captureProgress struct {
	Steps          map[Challenge]*stepState `json:"steps"`
	SpoofFrames    int                      `json:"spoof_frames"`
	MismatchFrames int                      `json:"mismatch_frames"`
}

// TwoFAStart is the result of starting face-2FA registration.
type TwoFAStart struct {
	Face       *FaceView
	URL        string
	Token      string
	Registered bool // the face already has images: no new session
}

// StartOptions tune Start2FA.
type StartOptions struct {
	// TTL is the link's lifetime (default: the service's capture TTL).
	TTL time.Duration
	// Enabled is the new face's state before registration; either way it
	// can neither verify nor match until it has a template, and completing
	// the registration enables it.
	Enabled bool
}

// Start2FA gets or creates the (image-less) face of a client's user and
// opens a capture session for it, returning the hosted page URL.
func (s *Service) Start2FA(ctx context.Context, t Tenant, uniqueID string, opt StartOptions) (*TwoFAStart, error) {
	st, err := s.start2FA(ctx, s.resolve(t), uniqueID, opt)
	return st, classified(err)
}

func (s *Service) start2FA(ctx context.Context, t Tenant, uniqueID string, opt StartOptions) (*TwoFAStart, error) {
	if err := ValidateFaceID(uniqueID); err != nil {
		return nil, err
	}
	ttl := opt.TTL
	if ttl <= 0 {
		ttl = s.captureTTL
	}
	if ttl > MaxCaptureTTL {
		return nil, fmt.Errorf("%w: session lifetime at most 30 days", ErrInvalidInput)
	}
	f, err := s.st.GetFaceByFaceID(ctx, t.ID, uniqueID)
	if errors.Is(err, store.ErrNotFound) {
		f = &store.Face{ID: store.NewID("face_"), IntegrationID: t.ID, FaceID: uniqueID, Enabled: opt.Enabled}
		if err = s.st.CreateFace(ctx, f); errors.Is(err, store.ErrConflict) {
			f, err = s.st.GetFaceByFaceID(ctx, t.ID, uniqueID) // created concurrently
		}
	}
	if err != nil {
		return nil, err
	}
	view, err := s.view(ctx, t.ID, f)
	if err != nil {
		return nil, err
	}
	if len(view.Images) > 0 {
		return &TwoFAStart{Face: view, Registered: true}, nil
	}
	_, token, err := s.newSession(ctx, t, f, ttl)
	if err != nil {
		return nil, err
	}
	return &TwoFAStart{Face: view, Token: token, URL: s.publicURL + "/capture/" + token}, nil
}

func (s *Service) newSession(ctx context.Context, t Tenant, f *store.Face, ttl time.Duration) (sess *store.CaptureSession, token string, err error) {
	order := shuffled(requiredChallenges(t.Policy))
	prog := captureProgress{Steps: map[Challenge]*stepState{}}
	for _, c := range order {
		prog.Steps[c] = &stepState{}
	}
	chJSON, _ := json.Marshal(order)
	prJSON, _ := json.Marshal(prog)
	token = "cap_" + randomHex(24)
	sess = &store.CaptureSession{ID: sessionID(token), IntegrationID: t.ID, FaceRef: f.ID, Kind: captureKind2FA,
		Status: CaptureInProgress, Challenges: chJSON, Nonce: randomHex(16), Progress: prJSON, ExpiresAt: time.Now().Add(ttl)}
	if err := s.st.CreateCaptureSession(ctx, sess); err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "capture session opened", "integration", t.ID, "face", f.ID, "session", sess.ID, "order", order)
	return sess, token, nil
}

// sessionID is the stored id of the session a link's token opens: a hash,
// so that whoever reads the database (or a backup) cannot open the pages.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "cs_" + hex.EncodeToString(sum[:20])
}

// requiredChallenges is the policy's list, or all four.
func requiredChallenges(p store.Policy) []Challenge {
	var out []Challenge
	for _, c := range p.RequiredChallenges {
		for _, k := range AllChallenges {
			if string(k) == c {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return append([]Challenge(nil), AllChallenges...)
	}
	return out
}

// shuffled returns a uniformly random order (crypto/rand: the order is
// what stops a pre-recorded sequence from being replayed).
func shuffled(cs []Challenge) []Challenge {
	out := append([]Challenge(nil), cs...)
	for i := len(out) - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loaded is a session with its decoded order and progress.
type loaded struct {
	sess  *store.CaptureSession
	order []Challenge
	prog  captureProgress
}

func decodeSession(sess *store.CaptureSession) (*loaded, error) {
	l := &loaded{sess: sess}
	if err := json.Unmarshal(sess.Challenges, &l.order); err != nil {
		return nil, fmt.Errorf("capture session %s: challenges: %w", sess.ID, err)
	}
	if err := json.Unmarshal(sess.Progress, &l.prog); err != nil {
		return nil, fmt.Errorf("capture session %s: progress: %w", sess.ID, err)
	}
	if l.prog.Steps == nil {
		l.prog.Steps = map[Challenge]*stepState{}
	}
	for _, c := range l.order {
		if l.prog.Steps[c] == nil {
			l.prog.Steps[c] = &stepState{}
		}
	}
	return l, nil
}

func (s *Service) loadSession(ctx context.Context, token string) (*loaded, error) {
	if !strings.HasPrefix(token, "cap_") || len(token) > 80 {
		return nil, ErrCaptureNotFound
	}
	sess, err := s.st.GetCaptureSession(ctx, sessionID(token))
	if errors.Is(err, store.ErrNotFound) {
		// Sessions opened before tokens were hashed are stored under the
		// token itself ("cap_…" ids, which a hashed id never is); they
		// keep working until they end.
		sess, err = s.st.GetCaptureSession(ctx, token)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrCaptureNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeSession(sess)
}

// current is the index of the first unmet challenge.
func (l *loaded) current() int {
	for i, c := range l.order {
		if !l.prog.Steps[c].Met {
			return i
		}
	}
	return len(l.order)
}

func (l *loaded) steps() []CaptureStep {
	out := make([]CaptureStep, len(l.order))
	for i, c := range l.order {
		out[i] = CaptureStep{Challenge: c, Done: l.prog.Steps[c].Met}
	}
	return out
}

func (l *loaded) expired(now time.Time) bool {
	return l.sess.Status == CaptureInProgress && now.After(l.sess.ExpiresAt)
}

// State describes a session for the hosted page.
func (s *Service) State(ctx context.Context, token string) (*CaptureState, error) {
	st, err := s.state(ctx, token)
	return st, classified(err)
}

func (s *Service) state(ctx context.Context, token string) (*CaptureState, error) {
	l, err := s.loadSession(ctx, token)
	if err != nil {
		return nil, err
	}
	in, err := s.st.GetIntegration(ctx, l.sess.IntegrationID)
	if err != nil {
		return nil, err
	}
	st := &CaptureState{Status: l.sess.Status, Steps: l.steps(), Current: l.current(), Nonce: l.sess.Nonce,
		ExpiresAt: l.sess.ExpiresAt, Reason: l.sess.Reason, Theme: ThemeOf(in), FrameOrigins: in.Policy.FrameOrigins}
	if l.expired(time.Now()) {
		st.Status, st.Reason = CaptureExpired, FeedbackExpired
	}
	if st.Status != CaptureInProgress {
		st.RedirectURL = s.callbackURL(ctx, in, l.sess, st.Status)
	}
	return st, nil
}

// ThemeOf is an integration's hosted-page theme (its name by default).
func ThemeOf(in *store.Integration) Theme {
	var th Theme
	if len(in.Theme) > 0 {
		_ = json.Unmarshal(in.Theme, &th) // a malformed theme falls back to the default look
	}
	if th.Name == "" {
		th.Name = in.Name
	}
	return th
}

// callbackURL fills the integration's callback template: [user_id],
// [status] and [email] (the face's metadata "email", if any).
func (s *Service) callbackURL(ctx context.Context, in *store.Integration, sess *store.CaptureSession, status string) string {
	tpl := in.CallbackURLTemplate
	if tpl == "" {
		return ""
	}
	userID, email := "", ""
	if f, err := s.st.GetFace(ctx, in.ID, sess.FaceRef); err == nil {
		userID = f.FaceID
		var meta struct {
			Email string `json:"email"`
		}
		_ = json.Unmarshal(f.Metadata, &meta)
		email = meta.Email
	}
	return in.CallbackURL(userID, status, email)
}

// Frame analyses one camera frame for the session's current challenge.
func (s *Service) Frame(ctx context.Context, token string, challenge Challenge, nonce string, jpeg []byte) (*FrameResult, error) {
	res, err := s.frame(ctx, token, challenge, nonce, jpeg)
	return res, classified(err)
}

func (s *Service) frame(ctx context.Context, token string, challenge Challenge, nonce string, jpeg []byte) (*FrameResult, error) {
	l, err := s.loadSession(ctx, token)
	if err != nil {
		return nil, err
	}
	if res := s.closedResult(ctx, l); res != nil {
		return res, nil
	}
	if nonce != l.sess.Nonce {
		return nil, fmt.Errorf("%w: nonce does not belong to this session", ErrInvalidInput)
	}
	cur := l.current()
	if cur < len(l.order) && challenge != l.order[cur] {
		return nil, fmt.Errorf("%w: the current challenge is %s, not %s", ErrInvalidInput, l.order[cur], challenge)
	}
	in, err := s.st.GetIntegration(ctx, l.sess.IntegrationID)
	if err != nil {
		return nil, err
	}
	t := s.resolve(TenantOf(in))
	obs, err := s.observe(ctx, jpeg)
	if err != nil {
		return nil, err
	}
	return s.applyFrame(ctx, t, in, l.sess.ID, challenge, obs)
}

// observation is one analysed frame.
type observation struct {
	img      []byte
	w, h     int
	face     *face.Face // nil when none or several
	feedback string     // set when the frame cannot be used
}

func (s *Service) observe(ctx context.Context, data []byte) (*observation, error) {
	p, err := s.oneFaceWithin(ctx, data, s.frames, true)
	switch {
	case errors.Is(err, face.ErrNoFace):
		return &observation{img: data, feedback: FeedbackNoFace}, nil
	case errors.Is(err, face.ErrMultipleFaces):
		return &observation{img: data, feedback: FeedbackMultipleFaces}, nil
	case err != nil:
		return nil, &ImageError{Name: "frame", Err: err}
	}
	return &observation{img: data, w: p.img.srcW, h: p.img.srcH, face: &p.face}, nil
}

// SetPublicURL sets the base URL when it is only known once the listener
// is bound; call it before serving.
func (s *Service) SetPublicURL(u string) { s.publicURL = strings.TrimRight(u, "/") }
