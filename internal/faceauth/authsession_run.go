package faceauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// authResult is a session's stored result (store: result JSON).
type authResult struct {
	Last *AuthAttempt `json:"last,omitempty"`
}

// Reasons an authentication session failed, beside FeedbackSpoof and
// FeedbackExpired.
const (
	AuthReasonNoMatch = "no_match"
	AuthReasonLocked  = "locked"
)

// loadAuth finds a session by the token of its page: the client's token,
// or the token of the device that typed the session's code.
func (s *Service) loadAuth(ctx context.Context, token string) (*store.AuthSession, error) {
	var sess *store.AuthSession
	var err error
	switch {
	case strings.HasPrefix(token, "fd_"):
		sess, err = s.st.GetAuthSessionByHandoff(ctx, deviceTokenHash(token))
	case strings.HasPrefix(token, "fa_"):
		sess, err = s.st.GetAuthSession(ctx, authSessionID(token))
	default:
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no such face-authentication session", ErrCaptureNotFound)
	}
	return sess, err
}

// AuthSessionState is a session as its page sees it.
func (s *Service) AuthSessionState(ctx context.Context, token string) (*AuthState, error) {
	sess, err := s.loadAuth(ctx, token)
	if err != nil {
		return nil, classified(err)
	}
	st, err := s.authState(ctx, sess)
	return st, classified(err)
}

// AuthSessionStatus is a session as the client that opened it sees it
// (its authToken); another integration's session is not found.
func (s *Service) AuthSessionStatus(ctx context.Context, integrationID, token string) (*AuthState, error) {
	sess, err := s.loadAuth(ctx, token)
	if err == nil && sess.IntegrationID != integrationID {
		err = fmt.Errorf("%w: no such face-authentication session", ErrCaptureNotFound)
	}
	if err != nil {
		return nil, classified(err)
	}
	st, err := s.authState(ctx, sess)
	return st, classified(err)
}

func (s *Service) authState(ctx context.Context, sess *store.AuthSession) (*AuthState, error) {
	in, err := s.st.GetIntegration(ctx, sess.IntegrationID)
	if err != nil {
		return nil, err
	}
	faceID := ""
	if sess.FaceRef != "" {
		f, err := s.st.GetFace(ctx, sess.IntegrationID, sess.FaceRef)
		if err != nil {
			return nil, err
		}
		faceID = f.FaceID
	}
	var res authResult
	_ = json.Unmarshal(sess.Result, &res) // written by this service; empty before the first selfie
	st := &AuthState{Kind: sess.Kind, Status: sess.Status, Reason: authReason(sess), FaceID: faceID, Subject: sess.Subject, Locale: sess.Locale,
		Attempts: sess.Attempts, MaxAttempts: MaxAuthAttempts, ExpiresAt: sess.ExpiresAt.UTC(), Last: res.Last, Theme: ThemeOf(in), FrameOrigins: in.Policy.FrameOrigins}
	if sess.Status == CaptureInProgress && time.Now().After(sess.ExpiresAt) {
		st.Status, st.Reason = CaptureExpired, FeedbackExpired
	}
	return st, nil
}

// authReason is why a session failed or expired, kept in its result.
func authReason(sess *store.AuthSession) string {
	if sess.Status != CaptureFailed && sess.Status != CaptureExpired {
		return ""
	}
	var r struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(sess.Result, &r)
	return r.Reason
}

// AuthenticateSelfie runs one selfie of a session's page: passive
// liveness and 1:1 against the face's templates. A selfie without one
// usable face is refused without costing an attempt; one that does not
// verify costs one (and counts toward the face's lockout); the session
// ends authenticated, or failed after MaxAuthAttempts.
func (s *Service) AuthenticateSelfie(ctx context.Context, token string, jpeg []byte) (*AuthState, error) {
	st, err := s.authenticateSelfie(ctx, token, jpeg)
	return st, classified(err)
}

func (s *Service) authenticateSelfie(ctx context.Context, token string, jpeg []byte) (*AuthState, error) {
	sess, err := s.loadAuth(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.authOpen(sess); err != nil {
		return nil, err
	}
	in, err := s.st.GetIntegration(ctx, sess.IntegrationID)
	if err != nil {
		return nil, err
	}
	if sess.Kind == AuthKindBestImage {
		return s.bestImageSelfie(ctx, in, sess, jpeg)
	}
	f, err := s.st.GetFace(ctx, in.ID, sess.FaceRef)
	if err != nil {
		return nil, err
	}
	t := s.resolve(TenantOf(in))
	v, verr := s.verify(ctx, t, f.FaceID, Image{Data: jpeg, Name: "selfie"})
	locked := fault.Is(classified(verr), fault.Locked)
	if verr != nil && !locked {
		return nil, verr
	}
	if v != nil {
		s.metrics.Verification(t.ID, v.Outcome())
	}
	if err := s.recordSelfie(ctx, sess.ID, f.FaceID, v, locked); err != nil {
		return nil, err
	}
	fresh, err := s.st.GetAuthSession(ctx, sess.ID)
	if err != nil {
		return nil, err
	}
	return s.authState(ctx, fresh)
}

// authOpen refuses a selfie for a session that ended or expired.
func (s *Service) authOpen(sess *store.AuthSession) error {
	switch {
	case sess.Status != CaptureInProgress:
		return fmt.Errorf("%w: this face authentication has ended (%s)", ErrCaptureClosed, sess.Status)
	case time.Now().After(sess.ExpiresAt):
		return fmt.Errorf("%w: this face authentication expired at %s", ErrCaptureExpired, sess.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// recordSelfie applies a selfie's verification to the session under its
// row lock, and queues the event when the session ends.
func (s *Service) recordSelfie(ctx context.Context, sessionID, faceID string, v *Verification, locked bool) error {
	ctx = context.WithoutCancel(ctx) // the attempt counts even if the page hangs up
	ended := false
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		sess, err := tx.GetAuthSessionForUpdate(ctx, sessionID)
		if err != nil {
			return err
		}
		if s.authOpen(sess) != nil {
			return nil // another selfie ended it meanwhile
		}
		res := map[string]any{}
		ev := FaceAuthenticated{IntegrationID: sess.IntegrationID, SessionID: sess.ID, FaceID: faceID, Subject: sess.Subject, At: time.Now().UTC()}
		if v != nil {
			sess.Attempts++
			a := &AuthAttempt{Similarity: v.Score, Match: v.Match, Liveness: v.Liveness.Score, Live: v.Liveness.Live, At: ev.At.Format(time.RFC3339)}
			res["last"], ev.Similarity, ev.Liveness = a, a.Similarity, a.Liveness
		}
		switch {
		case v != nil && v.Verified:
			sess.Status, ev.Authenticated = CaptureCompleted, true
		case locked:
			sess.Status, ev.Reason = CaptureFailed, AuthReasonLocked
		case sess.Attempts >= MaxAuthAttempts:
			sess.Status, ev.Reason = CaptureFailed, AuthReasonNoMatch
			if !v.Liveness.Live {
				ev.Reason = FeedbackSpoof
			}
		}
		if sess.Status != CaptureInProgress {
			ended = true
			if strings.HasPrefix(sess.Handoff, "code:") {
				sess.Handoff = "" // an untyped code dies with the session; a device keeps its page
			}
			res["reason"] = ev.Reason
			if err := s.events.Enqueue(ctx, tx, sess.IntegrationID, ev); err != nil {
				return err
			}
		}
		if sess.Result, err = json.Marshal(res); err != nil {
			return err
		}
		return tx.UpdateAuthSession(ctx, sess)
	})
	if err == nil && ended {
		s.events.Committed()
	}
	return err
}

// bestImageSelfie seals a best-image session's selfie into a token for the
// client and ends the session: one token per session. A selfie without one
// usable face is refused and the session goes on; a spoof still gets its
// token (the authentication reports it).
func (s *Service) bestImageSelfie(ctx context.Context, in *store.Integration, sess *store.AuthSession, jpeg []byte) (*AuthState, error) {
	tok, err := s.IssueBestImageToken(ctx, TenantOf(in), Image{Data: jpeg, Name: "selfie"})
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	issued := false
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetAuthSessionForUpdate(ctx, sess.ID)
		if err != nil || s.authOpen(cur) != nil {
			return err // another selfie took the token meanwhile
		}
		a := &AuthAttempt{Liveness: tok.Liveness.Score, Live: tok.Liveness.Live, At: time.Now().UTC().Format(time.RFC3339)}
		if cur.Result, err = json.Marshal(map[string]any{"last": a}); err != nil {
			return err
		}
		cur.Status, cur.Attempts, issued = CaptureCompleted, cur.Attempts+1, true
		return tx.UpdateAuthSession(ctx, cur)
	})
	if err != nil {
		return nil, err
	}
	if !issued {
		return nil, fmt.Errorf("%w: this session already gave its photo", ErrCaptureClosed)
	}
	fresh, err := s.st.GetAuthSession(ctx, sess.ID)
	if err != nil {
		return nil, err
	}
	st, err := s.authState(ctx, fresh)
	if err == nil {
		st.BestImageToken = tok.Token
	}
	return st, err
}

// expireAuthSessions closes running sessions past their expiry, so that
// the client hears of them (FaceAuthenticated with reason expired) rather
// than waiting for a result that will not come. It returns how many.
func (s *Service) expireAuthSessions(ctx context.Context, now time.Time) (int, error) {
	expired, err := s.st.ListExpiredAuthSessions(ctx, now, 200)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range expired {
		ended := false
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			sess, err := tx.GetAuthSessionForUpdate(ctx, e.ID)
			if err != nil || sess.Status != CaptureInProgress || !now.After(sess.ExpiresAt) {
				return err // ended meanwhile
			}
			res := map[string]any{"reason": FeedbackExpired}
			var last authResult
			if json.Unmarshal(sess.Result, &last) == nil && last.Last != nil {
				res["last"] = last.Last
			}
			if sess.Result, err = json.Marshal(res); err != nil {
				return err
			}
			sess.Status, ended = CaptureExpired, true
			if strings.HasPrefix(sess.Handoff, "code:") {
				sess.Handoff = ""
			}
			if sess.Kind == AuthKindAuthenticate {
				f, err := tx.GetFace(ctx, sess.IntegrationID, sess.FaceRef)
				if err != nil {
					return err
				}
				ev := FaceAuthenticated{IntegrationID: sess.IntegrationID, SessionID: sess.ID, FaceID: f.FaceID, Subject: sess.Subject,
					Reason: FeedbackExpired, At: now.UTC()}
				if err := s.events.Enqueue(ctx, tx, sess.IntegrationID, ev); err != nil {
					return err
				}
			}
			return tx.UpdateAuthSession(ctx, sess)
		})
		if err != nil {
			return n, fmt.Errorf("expire face-authentication session %s: %w", e.ID, err)
		}
		if ended {
			n++
			s.events.Committed()
		}
	}
	return n, nil
}
