package faceauth

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/store"
)

// closedResult answers a frame for a session that is no longer in
// progress (finished, failed or expired), or nil.
func (s *Service) closedResult(ctx context.Context, l *loaded) *FrameResult {
	status := l.sess.Status
	if l.expired(time.Now()) {
		status = CaptureExpired
	}
	if status == CaptureInProgress {
		return nil
	}
	res := &FrameResult{Status: status, Steps: l.steps(), Current: l.current(), Reason: l.sess.Reason, Feedback: status}
	if status == CaptureExpired {
		res.Feedback, res.Reason = FeedbackExpired, FeedbackExpired
	}
	res.Message = feedbackText[res.Feedback]
	if in, err := s.st.GetIntegration(ctx, l.sess.IntegrationID); err == nil {
		res.RedirectURL = s.callbackURL(ctx, in, l.sess, status)
	}
	return res
}

// frameOutcome is what applying a frame did, for work after commit.
type frameOutcome struct {
	res       *FrameResult
	completed *completion
	newBlob   string   // written for this frame; removed if the tx fails
	dropBlobs []string // captures of a failed session, removed after commit
}

// applyFrame updates the session with one analysed frame under a row lock,
// so two frames of one session never both advance it.
func (s *Service) applyFrame(ctx context.Context, t Tenant, in *store.Integration, sessionID string, c Challenge, o *observation) (*FrameResult, error) {
	// The keyring is looked up before the transaction: on SQLite a lookup
	// that must write could not while this transaction holds the lock.
	if _, err := s.keyring(ctx, t.ID); err != nil {
		return nil, err
	}
	var out frameOutcome
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		out = frameOutcome{}
		sess, err := tx.GetCaptureSessionForUpdate(ctx, sessionID)
		if err != nil {
			return err
		}
		l, err := decodeSession(sess)
		if err != nil {
			return err
		}
		if res := s.closedResult(ctx, l); res != nil {
			out.res = res
			return nil
		}
		if err := s.step(ctx, tx, t, in, l, c, o, &out); err != nil {
			return err
		}
		pr, err := json.Marshal(l.prog)
		if err != nil {
			return err
		}
		l.sess.Progress = pr
		if err := tx.UpdateCaptureSession(ctx, l.sess); err != nil {
			return err
		}
		out.res.Status, out.res.Steps, out.res.Current, out.res.Reason = l.sess.Status, l.steps(), l.current(), l.sess.Reason
		if l.sess.Status != CaptureInProgress {
			out.res.RedirectURL = s.callbackURL(ctx, in, l.sess, l.sess.Status)
		}
		return nil
	})
	if err != nil {
		if out.newBlob != "" {
			s.dropBlob(ctx, out.newBlob)
		}
		return nil, err
	}
	for _, k := range out.dropBlobs {
		s.dropBlob(ctx, k)
	}
	if out.completed != nil {
		s.indexCompleted(in.ID, out.completed)
		if s.events != nil {
			s.events.Committed()
		}
	}
	return out.res, nil
}

// step applies the frame to the current challenge.
func (s *Service) step(ctx context.Context, tx store.Tx, t Tenant, in *store.Integration, l *loaded, c Challenge, o *observation, out *frameOutcome) error {
	l.sess.Frames++
	st := l.prog.Steps[c]
	res := &FrameResult{Challenge: c}
	out.res = res
	fail := func(reason string) {
		l.sess.Status, l.sess.Reason = CaptureFailed, reason
		res.Feedback = FeedbackFailed
		out.dropBlobs = l.blobKeys()
	}
	switch {
	case st == nil || st.Met:
		res.Feedback = FeedbackMet // a late duplicate frame for a finished step
	case l.sess.Frames > maxFramesPerSession:
		fail(ReasonTooManyFrames)
	case o.face == nil:
		res.Feedback = o.feedback
	default:
		res.Feedback = judgeFrame(*o.face, c, t.Policy.LivenessThreshold)
		if res.Feedback == FeedbackSpoof {
			if l.prog.SpoofFrames++; l.prog.SpoofFrames > maxSpoofFrames {
				fail(FeedbackSpoof)
			}
			break
		}
		if res.Feedback != "" {
			break
		}
		same, err := s.sameAsCaptured(ctx, l, t, o.face.Embedding)
		if err != nil {
			return err
		}
		if !same {
			res.Feedback = FeedbackMismatch
			if l.prog.MismatchFrames++; l.prog.MismatchFrames > maxMismatchFrames {
				fail(FeedbackMismatch)
			}
			break
		}
		res.Met, res.Feedback = s.challenges.advance(c, *o.face, st)
		if res.Met {
			if err := s.keepCapture(ctx, l, c, st, o, out); err != nil {
				return err
			}
		}
	}
	if res.Met && l.current() == len(l.order) {
		if dup, err := s.capturedDuplicate(ctx, t, l); err != nil {
			return err
		} else if dup {
			fail(ReasonDuplicate)
			res.Message = feedbackText[res.Feedback]
			return nil
		}
		comp, err := s.complete(ctx, tx, in, l)
		switch {
		case errors.Is(err, errRegistered):
			fail(ReasonRegistered)
		case err != nil:
			return err
		default:
			out.completed = comp
			out.dropBlobs = append(out.dropBlobs, comp.superseded...)
			res.Feedback = FeedbackCompleted
		}
	}
	res.Message = feedbackText[res.Feedback]
	return nil
}

func (l *loaded) blobKeys() []string {
	var keys []string
	for _, st := range l.prog.Steps {
		if st.BlobKey != "" {
			keys = append(keys, st.BlobKey)
		}
	}
	return keys
}

// keepCapture stores the frame that met a challenge (encrypted blob) and
// its sealed embedding in the session.
func (s *Service) keepCapture(ctx context.Context, l *loaded, c Challenge, st *stepState, o *observation, out *frameOutcome) error {
	st.Met = true
	st.ImageID = store.NewID("img_")
	st.BlobKey = l.sess.IntegrationID + "/faces/" + l.sess.FaceRef + "/" + st.ImageID
	st.Width, st.Height = o.w, o.h
	if o.face.Pose != nil {
		st.Yaw = o.face.Pose.Yaw
	}
	if o.face.Liveness != nil {
		st.Liveness = *o.face.Liveness
	}
	kr, err := s.keyring(ctx, l.sess.IntegrationID)
	if err != nil {
		return err
	}
	sealed, err := kr.Seal(vecBytes(o.face.Embedding.Vector), captureAD(l.sess.ID, c, o.face.Embedding.Model))
	if err != nil {
		return err
	}
	st.Sealed = sealed
	if _, err := s.blobs.Put(ctx, st.BlobKey, bytes.NewReader(o.img), blob.Meta{ContentType: imageio.MIMEType(o.img), Size: int64(len(o.img))}); err != nil {
		return fmt.Errorf("store capture: %w", err)
	}
	out.newBlob = st.BlobKey
	return nil
}

func captureAD(sessionID string, c Challenge, model string) []byte {
	return []byte("visage/capture/v1|" + sessionID + "|" + string(c) + "|" + model)
}

func vecBytes(v []float32) []byte {
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	return buf
}

func bytesVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// captured opens the embedding of a met step.
func (s *Service) captured(ctx context.Context, l *loaded, c Challenge) (*face.Embedding, error) {
	st := l.prog.Steps[c]
	model := s.eng.EmbeddingModel()
	kr, err := s.keyring(ctx, l.sess.IntegrationID)
	if err != nil {
		return nil, err
	}
	b, err := kr.Open(st.Sealed, captureAD(l.sess.ID, c, model))
	if err != nil {
		return nil, fmt.Errorf("%w: capture %s of session %s: %v", ErrTemplateIntegrity, c, l.sess.ID, err)
	}
	return &face.Embedding{Model: model, Vector: bytesVec(b)}, nil
}

// sameAsCaptured requires every capture to show the person of the
// captures already kept.
func (s *Service) sameAsCaptured(ctx context.Context, l *loaded, t Tenant, e *face.Embedding) (bool, error) {
	for _, c := range l.order {
		if !l.prog.Steps[c].Met {
			continue
		}
		ref, err := s.captured(ctx, l, c)
		if err != nil {
			return false, err
		}
		sim, err := s.similarity(e, ref)
		if err != nil {
			return false, err
		}
		if float64(sim.Score) < t.Policy.MatchThreshold {
			return false, nil
		}
	}
	return true, nil
}

// capturedDuplicate reports, when the policy asks, whether the session's
// captures show a face already enrolled under another face id.
func (s *Service) capturedDuplicate(ctx context.Context, t Tenant, l *loaded) (bool, error) {
	if !t.Policy.CheckDuplicates {
		return false, nil
	}
	f, err := s.st.GetFace(ctx, t.ID, l.sess.FaceRef)
	if err != nil {
		return false, err
	}
	for _, c := range s.templateCaptures(l) {
		emb, err := s.captured(ctx, l, c)
		if err != nil {
			return false, err
		}
		if err := s.checkDuplicate(ctx, t, f.FaceID, []*probe{{face: face.Face{Embedding: emb}}}); err != nil {
			if fault.Is(err, fault.Duplicate) {
				return true, nil
			}
			return false, err
		}
	}
	return false, nil
}

func (s *Service) dropBlob(ctx context.Context, key string) {
	if err := s.blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.log.ErrorContext(ctx, "delete capture blob", "key", key, "err", err)
	}
}
