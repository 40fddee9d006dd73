package faceauth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// completion is what a finished session enrolled, for the search index,
// and the captures of sessions it superseded, to delete after commit.
type completion struct {
	faceID     string
	tpls       []store.Template
	vecs       [][]float32
	superseded []string
	version    int64 // index version after this change
}

// errRegistered: the face got its images from another session first.
var errRegistered = errors.New("face already registered")

// complete turns a session's captures into the face's images and sealed
// templates, enables the face and queues the images_stored event, all in
// the caller's transaction. Templates come from the frontal captures
// (smile, blink): turned heads verify worse against a frontal login selfie.
func (s *Service) complete(ctx context.Context, tx store.Tx, in *store.Integration, l *loaded) (*completion, error) {
	f, err := tx.GetFace(ctx, in.ID, l.sess.FaceRef)
	if err != nil {
		return nil, err
	}
	// Writing the face row locks it until commit, so two sessions (or a
	// session and store-images) completing for one face serialise, and the
	// second then sees the first's images (PostgreSQL READ COMMITTED reads
	// the latest committed rows per statement; SQLite runs one writer).
	if err := tx.UpdateFace(ctx, f); err != nil {
		return nil, err
	}
	if have, err := tx.ListFaceImages(ctx, in.ID, f.ID); err != nil {
		return nil, err
	} else if len(have) > 0 {
		return nil, errRegistered
	}
	comp := &completion{faceID: f.FaceID}
	images := make([]map[string]any, 0, len(l.order))
	for _, c := range l.order {
		st := l.prog.Steps[c]
		img := store.FaceImage{ID: st.ImageID, FaceRef: f.ID, IntegrationID: in.ID, Challenge: string(c),
			BlobKey: st.BlobKey, Width: st.Width, Height: st.Height}
		if err := tx.AddFaceImage(ctx, &img); err != nil {
			return nil, err
		}
		images = append(images, map[string]any{"_id": img.ID, "type": string(c),
			"url": s.ImageURL(f.FaceID, img.ID)})
	}
	for _, c := range s.templateCaptures(l) {
		emb, err := s.captured(l, c)
		if err != nil {
			return nil, err
		}
		t := store.Template{ID: store.NewID("tpl_"), FaceRef: f.ID, ImageID: l.prog.Steps[c].ImageID, IntegrationID: in.ID, ModelID: emb.Model}
		if err := s.sealTemplate(&t, emb.Vector); err != nil {
			return nil, err
		}
		if err := tx.AddTemplate(ctx, &t); err != nil {
			return nil, err
		}
		comp.tpls = append(comp.tpls, t)
		comp.vecs = append(comp.vecs, emb.Vector)
	}
	f.Enabled = true
	if err := tx.UpdateFace(ctx, f); err != nil {
		return nil, err
	}
	l.sess.Status = CaptureCompleted
	if comp.superseded, err = s.supersede(ctx, tx, l.sess); err != nil {
		return nil, err
	}
	if comp.version, err = tx.BumpIndexVersion(ctx, in.ID); err != nil {
		return nil, err
	}
	if s.events != nil {
		payload := map[string]any{
			"result":    map[string]any{"_id": f.ID, "integrationId": in.ID, "faceId": f.FaceID, "images": images, "enabled": true},
			"status":    EventImagesStored,
			"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		}
		if err := s.events.Enqueue(ctx, tx, in.ID, EventImagesStored, payload); err != nil {
			return nil, fmt.Errorf("queue %s event: %w", EventImagesStored, err)
		}
	}
	s.log.InfoContext(ctx, "face 2FA registered", "integration", in.ID, "face", f.ID, "templates", len(comp.tpls))
	return comp, nil
}

// supersede fails the face's other open sessions (old links must not be
// able to register another face later) and returns their captures.
func (s *Service) supersede(ctx context.Context, tx store.Tx, done *store.CaptureSession) ([]string, error) {
	others, err := tx.ListCaptureSessions(ctx, done.IntegrationID, done.FaceRef)
	if err != nil {
		return nil, err
	}
	var keys []string
	for i := range others {
		o := &others[i]
		if o.ID == done.ID || o.Status != CaptureInProgress {
			continue
		}
		if l, err := decodeSession(o); err == nil {
			keys = append(keys, l.blobKeys()...)
		}
		o.Status, o.Reason = CaptureFailed, "superseded"
		if err := tx.UpdateCaptureSession(ctx, o); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// templateCaptures picks the frontal captures, or the least turned one.
func (s *Service) templateCaptures(l *loaded) []Challenge {
	var out []Challenge
	best, bestYaw := Challenge(""), math.Inf(1)
	for _, c := range l.order {
		yaw := math.Abs(l.prog.Steps[c].Yaw)
		if yaw <= s.challenges.FrontalYawMax {
			out = append(out, c)
		}
		if yaw < bestYaw {
			best, bestYaw = c, yaw
		}
	}
	if len(out) == 0 && best != "" {
		out = []Challenge{best}
	}
	return out
}

func (s *Service) indexCompleted(integrationID string, c *completion) {
	s.indexAdd(integrationID, c.faceID, c.tpls, c.vecs)
	s.indexApplied(integrationID, c.version)
}

// ChallengeError says which challenge a set of uploaded images failed.
type ChallengeError struct {
	Challenge Challenge
	Feedback  string
}

func (e *ChallengeError) Error() string {
	return fmt.Sprintf("%s not met: %s", e.Challenge, feedbackText[e.Feedback])
}

// ErrChallengeNotMet is wrapped by ChallengeError.
var ErrChallengeNotMet = errors.New("liveness challenge not met")

func (e *ChallengeError) Unwrap() error { return ErrChallengeNotMet }

// StoreImages registers a face from images the client captured itself,
// held to exactly the checks of the hosted page: each challenge's images
// go through the same per-frame logic in order (several eyeblink frames
// can show open → closed → open). faceRef is the face's internal id (the
// Identity Gram "newFace._id") or, failing that, the client's face id.
func (s *Service) StoreImages(ctx context.Context, t Tenant, faceRef string, imgs map[Challenge][]Image) (*FaceView, error) {
	f, err := s.st.GetFace(ctx, t.ID, faceRef)
	if errors.Is(err, store.ErrNotFound) {
		f, err = s.getFace(ctx, t.ID, faceRef)
	}
	if err != nil {
		return nil, err
	}
	if v, err := s.view(ctx, t.ID, f); err != nil {
		return nil, err
	} else if len(v.Images) > 0 {
		return nil, fmt.Errorf("%w: %q", ErrAlreadyEnrolled, f.FaceID)
	}
	order := requiredChallenges(t.Policy)
	for _, c := range order {
		if len(imgs[c]) == 0 {
			return nil, fmt.Errorf("%w: an image for %s is required", ErrInvalidInput, c)
		}
	}
	in, err := s.st.GetIntegration(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	sess, err := s.newSession(ctx, t, f, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	l, err := decodeSession(sess)
	if err != nil {
		return nil, err
	}
	for _, c := range l.order {
		if err := s.feedChallenge(ctx, t, in, sess.ID, c, imgs[c]); err != nil {
			s.abandon(ctx, sess.ID)
			return nil, err
		}
	}
	return s.GetFace(ctx, t.ID, f.FaceID) // re-read: completion enabled it

}

// feedChallenge runs a challenge's images through the frame logic.
func (s *Service) feedChallenge(ctx context.Context, t Tenant, in *store.Integration, token string, c Challenge, imgs []Image) error {
	last := ""
	for i, im := range imgs {
		o, err := s.observe(ctx, im.Data)
		if err != nil {
			var ie *ImageError
			if errors.As(err, &ie) {
				ie.Index, ie.Name = i, string(c)
			}
			return err
		}
		res, err := s.applyFrame(ctx, t, in, token, c, o)
		if err != nil {
			return err
		}
		if res.Met {
			return nil
		}
		if res.Status == CaptureFailed {
			if res.Reason == "already_registered" {
				return fmt.Errorf("%w: registered by another session meanwhile", ErrAlreadyEnrolled)
			}
			return &ChallengeError{Challenge: c, Feedback: res.Reason}
		}
		last = res.Feedback
	}
	return &ChallengeError{Challenge: c, Feedback: last}
}

// abandon fails an API-driven session whose images were refused, removing
// the captures it kept.
func (s *Service) abandon(ctx context.Context, token string) {
	if err := s.closeSession(ctx, token, CaptureFailed, "images_refused"); err != nil {
		s.log.ErrorContext(ctx, "abandon capture session", "session", token[:min(len(token), 12)]+"…", "err", err)
	}
}

// closeSession ends an in-progress session with status and reason and
// deletes the frames it kept. It runs to the end even if the request that
// asked for it is gone: a half-closed session would keep selfies forever.
func (s *Service) closeSession(ctx context.Context, token, status, reason string) error {
	ctx = context.WithoutCancel(ctx)
	var keys []string
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		sess, err := tx.GetCaptureSessionForUpdate(ctx, token)
		if err != nil || sess.Status != CaptureInProgress {
			return err
		}
		l, err := decodeSession(sess)
		if err != nil {
			return err
		}
		keys = l.blobKeys()
		sess.Status, sess.Reason = status, reason
		return tx.UpdateCaptureSession(ctx, sess)
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		s.dropBlob(ctx, k)
	}
	return nil
}

// SweepCaptures expires sessions past their lifetime and deletes the
// frames they kept; the server runs it periodically. It returns how many
// sessions it closed.
func (s *Service) SweepCaptures(ctx context.Context, now time.Time) (int, error) {
	expired, err := s.st.ListExpiredCaptureSessions(ctx, now, 200)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sess := range expired {
		if err := s.closeSession(ctx, sess.ID, CaptureExpired, FeedbackExpired); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// captureBlobs lists the frames kept by a face's sessions (for erasure).
func (s *Service) captureBlobs(ctx context.Context, integrationID, faceRef string) ([]string, error) {
	sessions, err := s.st.ListCaptureSessions(ctx, integrationID, faceRef)
	if err != nil {
		return nil, err
	}
	var keys []string
	for i := range sessions {
		if l, err := decodeSession(&sessions[i]); err == nil {
			keys = append(keys, l.blobKeys()...)
		}
	}
	return keys, nil
}
