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
	ev := FaceRegistered{FaceRef: f.ID, IntegrationID: in.ID, FaceID: f.FaceID, Enabled: true,
		Liveness: store.LivenessActive, At: time.Now().UTC()}
	for _, c := range l.order {
		st := l.prog.Steps[c]
		img := store.FaceImage{ID: st.ImageID, FaceRef: f.ID, IntegrationID: in.ID, Challenge: string(c),
			BlobKey: st.BlobKey, Width: st.Width, Height: st.Height}
		if err := tx.AddFaceImage(ctx, &img); err != nil {
			return nil, err
		}
		ev.Images = append(ev.Images, RegisteredImage{ID: img.ID, Challenge: c})
	}
	for _, c := range s.templateCaptures(l) {
		emb, err := s.captured(ctx, l, c)
		if err != nil {
			return nil, err
		}
		t := store.Template{ID: store.NewID("tpl_"), FaceRef: f.ID, ImageID: l.prog.Steps[c].ImageID, IntegrationID: in.ID, ModelID: emb.Model}
		if err := s.sealTemplate(ctx, &t, emb.Vector); err != nil {
			return nil, err
		}
		if err := tx.AddTemplate(ctx, &t); err != nil {
			return nil, err
		}
		comp.tpls = append(comp.tpls, t)
		comp.vecs = append(comp.vecs, emb.Vector)
	}
	f.Enabled, f.Liveness = true, store.LivenessActive
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
	if err := s.events.Enqueue(ctx, tx, in.ID, ev); err != nil {
		return nil, fmt.Errorf("queue %s event: %w", ev.EventName(), err)
	}
	s.log.InfoContext(ctx, "face 2FA registered", "integration", in.ID, "face", f.ID, "templates", len(comp.tpls))
	s.metrics.Enrolment(in.ID, store.LivenessActive)
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
		o.Status, o.Reason = CaptureFailed, ReasonSuperseded
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

// closeSession ends an in-progress session with status and reason and
// deletes the frames it kept. It runs to the end even if the request that
// asked for it is gone: a half-closed session would keep selfies forever.
func (s *Service) closeSession(ctx context.Context, id, status, reason string) error {
	ctx = context.WithoutCancel(ctx)
	var keys []string
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		sess, err := tx.GetCaptureSessionForUpdate(ctx, id)
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

// SweepCaptures expires capture sessions past their lifetime and deletes
// the frames they kept, and expires face-authentication sessions; the
// server runs it periodically. It returns how many sessions it closed.
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
	m, err := s.expireAuthSessions(ctx, now)
	return n + m, err
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
