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
	"slices"
	"time"

	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// A face-authentication session lets a person who already has an enrolled
// face prove on the hosted page that they are in front of the camera now:
// passive liveness and 1:1 against the enrolled templates, from a selfie
// the page takes. The client gets the result by webhook
// (FaceAuthenticated) and from the session's status. With a digit code the
// person may open the page on another device by typing the code.

// Kinds of session: authenticate an enrolled face, or seal one live
// selfie into a best-image token for the client (no face on the server).
const (
	AuthKindAuthenticate = "authenticate"
	AuthKindBestImage    = "best_image"
)

// Limits of an authentication session.
const (
	// MaxAuthAttempts is how many selfies that do not verify a session
	// takes before it fails (each also counts toward the face's lockout).
	MaxAuthAttempts = 3
	digitCodeLen    = 6
)

// Locales the hosted face-authentication page speaks.
var AuthLocales = []string{"en", "fr", "es"}

// AuthSessionOptions tune StartAuthSession.
type AuthSessionOptions struct {
	TTL       time.Duration // default: the service's capture TTL (30 min); at most 30 days
	Locale    string        // one of AuthLocales; "" = en
	DigitCode bool          // also issue a six-digit code for another device
	Subject   string        // what the client calls the person (kept, echoed in events)
}

// AuthSessionStart is a new session: the page link and its token, and the
// code when asked for.
type AuthSessionStart struct {
	ID        string // the session's id in events (not a credential)
	Token     string
	URL       string
	DigitCode string
	ExpiresAt time.Time
}

// AuthState is what the page and the client see of a session.
type AuthState struct {
	Kind        string // AuthKindAuthenticate or AuthKindBestImage
	Status      string // in_progress, completed (authenticated), failed, expired
	Reason      string // why it failed: no_match, spoof, expired
	FaceID      string
	Subject     string
	Locale      string
	Attempts    int
	MaxAttempts int
	ExpiresAt   time.Time
	Last        *AuthAttempt // the latest selfie's result
	Theme       Theme
	// FrameOrigins may show the page in an iFrame (the integration's).
	FrameOrigins []string
	// BestImageToken is the token a best-image session's selfie made: in
	// the answer to that selfie only, never stored.
	BestImageToken []byte
}

// AuthAttempt is the result of one selfie.
type AuthAttempt struct {
	Similarity float32 `json:"similarity"`
	Match      bool    `json:"match"`
	Liveness   float32 `json:"liveness"`
	Live       bool    `json:"live"`
	At         string  `json:"at"`
}

// EventFaceAuthenticated names FaceAuthenticated.
const EventFaceAuthenticated = "face.authenticated"

// FaceAuthenticated: an authentication session ended, authenticated or
// not.
type FaceAuthenticated struct {
	IntegrationID string
	SessionID     string // the stored id (a hash of the token)
	FaceID        string
	Subject       string
	Authenticated bool
	Reason        string // when not: no_match, spoof, expired
	Similarity    float32
	Liveness      float32
	At            time.Time
}

// EventName implements Event.
func (FaceAuthenticated) EventName() string { return EventFaceAuthenticated }

func authSessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "as_" + hex.EncodeToString(sum[:20])
}

// Handoff hashes: the code while it waits, the device token after.
func digitCodeHash(code string) string {
	sum := sha256.Sum256([]byte("visage/digit-code|" + code))
	return "code:" + hex.EncodeToString(sum[:])
}

func deviceTokenHash(token string) string {
	sum := sha256.Sum256([]byte("visage/device-token|" + token))
	return "device:" + hex.EncodeToString(sum[:])
}

// StartAuthSession opens a face-authentication session for an enrolled,
// enabled face.
func (s *Service) StartAuthSession(ctx context.Context, t Tenant, faceID string, opt AuthSessionOptions) (*AuthSessionStart, error) {
	st, err := s.startAuthSession(ctx, s.resolve(t), faceID, opt)
	return st, classified(err)
}

func (s *Service) startAuthSession(ctx context.Context, t Tenant, faceID string, opt AuthSessionOptions) (*AuthSessionStart, error) {
	ttl, locale, err := s.authSessionTerms(opt)
	if err != nil {
		return nil, err
	}
	f, err := s.authFace(ctx, t, faceID)
	if err != nil {
		return nil, err
	}
	token := "fa_" + randomHex(24)
	sess := &store.AuthSession{ID: authSessionID(token), IntegrationID: t.ID, Kind: AuthKindAuthenticate, FaceRef: f.ID, Subject: opt.Subject,
		Status: CaptureInProgress, Locale: locale, Result: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(ttl)}
	return s.openAuthSession(ctx, sess, token, opt.DigitCode)
}

// StartBestImageSession opens a session whose page takes one live selfie
// and hands its best-image token to the client's page (/sdk/visage.js),
// for the template authentication of docs/templates.md.
func (s *Service) StartBestImageSession(ctx context.Context, t Tenant, opt AuthSessionOptions) (*AuthSessionStart, error) {
	st, err := s.startBestImageSession(ctx, s.resolve(t), opt)
	return st, classified(err)
}

func (s *Service) startBestImageSession(ctx context.Context, t Tenant, opt AuthSessionOptions) (*AuthSessionStart, error) {
	ttl, locale, err := s.authSessionTerms(opt)
	if err != nil {
		return nil, err
	}
	token := "fa_" + randomHex(24)
	sess := &store.AuthSession{ID: authSessionID(token), IntegrationID: t.ID, Kind: AuthKindBestImage, Subject: opt.Subject,
		Status: CaptureInProgress, Locale: locale, Result: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(ttl)}
	return s.openAuthSession(ctx, sess, token, false)
}

// openAuthSession stores a new session, drawing a fresh digit code when a
// code collides with another running session's.
func (s *Service) openAuthSession(ctx context.Context, sess *store.AuthSession, token string, digitCode bool) (*AuthSessionStart, error) {
	out := &AuthSessionStart{ID: sess.ID, Token: token, URL: s.publicURL + "/face-auth/" + token, ExpiresAt: sess.ExpiresAt.UTC()}
	var err error
	for try := 0; ; try++ {
		if digitCode {
			if out.DigitCode, err = randomDigits(digitCodeLen); err != nil {
				return nil, err
			}
			sess.Handoff = digitCodeHash(out.DigitCode)
		}
		err = s.st.CreateAuthSession(ctx, sess)
		if !errors.Is(err, store.ErrConflict) || !digitCode || try == 4 {
			break // a code collides only with another live session's: draw again
		}
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "face-authentication session opened", "integration", sess.IntegrationID, "kind", sess.Kind,
		"face", sess.FaceRef, "session", sess.ID, "digit_code", digitCode, "expires_at", out.ExpiresAt.Format(time.RFC3339))
	return out, nil
}

// authSessionTerms validates a session's lifetime and locale.
func (s *Service) authSessionTerms(opt AuthSessionOptions) (time.Duration, string, error) {
	ttl := opt.TTL
	switch {
	case ttl < 0:
		return 0, "", fmt.Errorf("%w: the session lifetime must be positive", ErrInvalidInput)
	case ttl == 0:
		ttl = s.captureTTL
	case ttl > MaxCaptureTTL:
		return 0, "", fmt.Errorf("%w: the session lifetime is at most 30 days", ErrInvalidInput)
	}
	locale := opt.Locale
	if locale == "" {
		locale = "en"
	}
	if !slices.Contains(AuthLocales, locale) {
		return 0, "", fmt.Errorf("%w: locale %q is not offered (one of %v)", ErrInvalidInput, locale, AuthLocales)
	}
	return ttl, locale, nil
}

// authFace is the enrolled, enabled, unlocked face a session is for.
func (s *Service) authFace(ctx context.Context, t Tenant, faceID string) (*store.Face, error) {
	f, err := s.getFace(ctx, t.ID, faceID)
	if err != nil {
		return nil, err
	}
	refs, err := s.st.ListFaceTemplates(ctx, t.ID, f.ID)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%w: %q has no template yet", ErrFaceNotEnrolled, faceID)
	}
	if !f.Enabled {
		return nil, fmt.Errorf("%w: %q", ErrFaceDisabled, faceID)
	}
	return f, nil
}

// HasEnrolledFace reports whether faceID can authenticate by face now:
// enrolled with a template of the engine's model, enabled.
func (s *Service) HasEnrolledFace(ctx context.Context, t Tenant, faceID string) (bool, error) {
	_, err := s.authFace(ctx, s.resolve(t), faceID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrFaceNotEnrolled), errors.Is(err, ErrFaceDisabled), errors.Is(err, ErrInvalidInput):
		return false, nil
	}
	return false, classified(err)
}

// randomDigits is n uniformly random decimal digits.
func randomDigits(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", fmt.Errorf("digit code: %w", err)
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b), nil
}

// RedeemDigitCode exchanges a session's six-digit code for a page token
// of the device that typed it: once (the code is replaced by that token),
// and only while the session runs. Callers rate-limit guesses.
func (s *Service) RedeemDigitCode(ctx context.Context, code string) (token string, err error) {
	if len(code) != digitCodeLen || !allDigits(code) {
		return "", classified(fmt.Errorf("%w: the code is six digits", ErrInvalidInput))
	}
	sess, err := s.st.GetAuthSessionByHandoff(ctx, digitCodeHash(code))
	if errors.Is(err, store.ErrNotFound) || err == nil && (sess.Status != CaptureInProgress || time.Now().After(sess.ExpiresAt)) {
		return "", &fault.Error{Kind: fault.NotFound, Message: "no session has this code, or it has expired"}
	}
	if err != nil {
		return "", classified(err)
	}
	token = "fd_" + randomHex(24)
	sess.Handoff = deviceTokenHash(token)
	if err := s.st.UpdateAuthSession(ctx, sess); err != nil {
		return "", classified(err)
	}
	s.log.InfoContext(ctx, "face-authentication code redeemed", "integration", sess.IntegrationID, "session", sess.ID)
	return token, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
