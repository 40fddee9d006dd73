package faceauth

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// RegisterStills registers a face created by Start2FA from still images
// the client captured itself: one or more per challenge the policy
// requires (Image.Challenge names it), in any order. A still proves no
// motion, so each is checked for what a still can show: one face, quality,
// passive liveness, and the same person in all of them; the expression and
// head turn its challenge names only when the policy's StillChallenges
// asks. Every failing image is named at once. Templates come from the
// frontal images; the face is enabled and a FaceRegistered event queued in
// the same transaction.
func (s *Service) RegisterStills(ctx context.Context, t Tenant, faceID string, imgs []Image) (*FaceView, error) {
	v, err := s.registerStills(ctx, s.resolve(t), faceID, imgs)
	return v, classified(err)
}

func (s *Service) registerStills(ctx context.Context, t Tenant, faceID string, imgs []Image) (*FaceView, error) {
	f, err := s.getFace(ctx, t.ID, faceID)
	if err != nil {
		return nil, err
	}
	if have, err := s.st.ListFaceImages(ctx, t.ID, f.ID); err != nil {
		return nil, err
	} else if len(have) > 0 {
		return nil, fmt.Errorf("%w: %q", ErrAlreadyEnrolled, f.FaceID)
	}
	if err := missingChallenges(requiredChallenges(t.Policy), imgs); err != nil {
		return nil, err
	}
	if len(imgs) > MaxImagesPerRequest {
		return nil, fmt.Errorf("%w: at most %d images per request", ErrInvalidInput, MaxImagesPerRequest)
	}
	probes, bad, err := s.checkStills(ctx, t, imgs)
	if err != nil {
		return nil, err
	}
	moreBad, err := s.oneIdentity(t, imgs, probes)
	if err != nil {
		return nil, err
	}
	if bad = append(bad, moreBad...); len(bad) > 0 {
		slices.SortFunc(bad, func(a, b *ImageError) int { return a.Index - b.Index })
		return nil, imagesFault(bad)
	}
	if err := s.checkDuplicate(ctx, t, faceID, probes); err != nil {
		return nil, err
	}
	return s.persistStills(ctx, t, f, imgs, probes)
}

// missingChallenges names every required challenge without an image.
func missingChallenges(required []Challenge, imgs []Image) error {
	var bad []*ImageError
	for _, c := range required {
		if !slices.ContainsFunc(imgs, func(im Image) bool { return im.Challenge == string(c) }) {
			bad = append(bad, &ImageError{Index: -1, Name: string(c), Err: fmt.Errorf("%w: an image for %s is required", ErrMissingImage, c)})
		}
	}
	if len(bad) > 0 {
		return imagesFault(bad)
	}
	return nil
}

// checkStills analyses every still: the usable ones' probes, and each
// failing one named. Only engine faults (busy, shutting down) are errors.
func (s *Service) checkStills(ctx context.Context, t Tenant, imgs []Image) ([]*probe, []*ImageError, error) {
	probes := make([]*probe, len(imgs))
	var bad []*ImageError
	for i, im := range imgs {
		p, err := s.oneFace(ctx, im.Data, t.Policy.StillChallenges)
		if err == nil {
			err = s.usableStill(t, Challenge(im.Challenge), p)
		}
		if err != nil {
			if isServerKind(fault.KindOf(classified(err))) {
				return nil, nil, err
			}
			bad = append(bad, imageErr(i, im.Name, err))
			continue
		}
		probes[i] = p
	}
	return probes, bad, nil
}

// oneIdentity names the usable stills that do not show the person most of
// them show: the reference is the still matching the most others, so one
// stranger among four is the one named, wherever it comes.
func (s *Service) oneIdentity(t Tenant, imgs []Image, probes []*probe) ([]*ImageError, error) {
	match := make([][]bool, len(probes))
	ref, refCount := -1, -1
	for i, p := range probes {
		match[i] = make([]bool, len(probes))
		if p == nil {
			continue
		}
		n := 0
		for j, q := range probes {
			if q == nil || i == j {
				continue
			}
			sim, err := s.similarity(p.face.Embedding, q.face.Embedding)
			if err != nil {
				return nil, err
			}
			if match[i][j] = float64(sim.Score) >= t.Policy.MatchThreshold; match[i][j] {
				n++
			}
		}
		if n > refCount {
			ref, refCount = i, n
		}
	}
	var bad []*ImageError
	for i, p := range probes {
		if p != nil && i != ref && !match[ref][i] {
			bad = append(bad, &ImageError{Index: i, Name: imgs[i].Name,
				Err: fmt.Errorf("%w: not the person of %s", ErrFacesDiffer, imgs[ref].Name)})
		}
	}
	return bad, nil
}

// usableStill: quality (a turn challenge may show a turned head), passive
// liveness and, when the policy asks, the challenge's expression or turn.
func (s *Service) usableStill(t Tenant, c Challenge, p *probe) error {
	if q := p.face.Quality; q != nil && !q.Usable {
		reasons := q.Reasons
		if c == ChallengeLeft || c == ChallengeRight {
			reasons = slices.DeleteFunc(slices.Clone(reasons), func(r string) bool { return r == face.ReasonPose })
		}
		if len(reasons) > 0 {
			return &qualityError{reasons: reasons}
		}
	}
	if err := s.checkLive(t, p.face); err != nil {
		return err
	}
	if !t.Policy.StillChallenges {
		return nil
	}
	if fb := s.challenges.still(c, p.face); fb != "" {
		return fmt.Errorf("%w: %s: %s", ErrChallengeNotMet, c, feedbackText[fb])
	}
	return nil
}

// persistStills stores the images (templates from the frontal ones),
// enables the face, closes its open capture links and queues the event.
func (s *Service) persistStills(ctx context.Context, t Tenant, f *store.Face, imgs []Image, probes []*probe) (*FaceView, error) {
	var superseded []string
	f.Enabled, f.Liveness = true, store.LivenessPassive
	after := func(tx store.Tx, rows []store.FaceImage) error {
		if err := tx.UpdateFace(ctx, f); err != nil {
			return err
		}
		var err error
		if superseded, err = s.supersede(ctx, tx, &store.CaptureSession{IntegrationID: t.ID, FaceRef: f.ID}); err != nil {
			return err
		}
		ev := FaceRegistered{FaceRef: f.ID, IntegrationID: t.ID, FaceID: f.FaceID, Enabled: true,
			Liveness: store.LivenessPassive, At: time.Now().UTC()}
		for _, r := range rows {
			ev.Images = append(ev.Images, RegisteredImage{ID: r.ID, Challenge: Challenge(r.Challenge)})
		}
		return s.events.Enqueue(ctx, tx, t.ID, ev)
	}
	if err := s.persist(ctx, t, f, imgs, probes, s.frontal(probes), txHooks{after: after}); err != nil {
		return nil, err
	}
	s.events.Committed()
	for _, k := range superseded {
		s.dropBlob(ctx, k)
	}
	s.log.InfoContext(ctx, "face registered from stills", "integration", t.ID, "face", f.ID, "images", len(imgs))
	s.metrics.Enrolment(t.ID, store.LivenessPassive)
	return s.view(ctx, t.ID, f)
}

// frontal marks the probes frontal enough for a template, or the least
// turned one: turned heads verify worse against a frontal login selfie.
func (s *Service) frontal(probes []*probe) []bool {
	out := make([]bool, len(probes))
	best, bestYaw, any := 0, math.Inf(1), false
	for i, p := range probes {
		yaw := 0.0
		if p.face.Pose != nil {
			yaw = math.Abs(p.face.Pose.Yaw)
		}
		if yaw <= s.challenges.FrontalYawMax {
			out[i], any = true, true
		}
		if yaw < bestYaw {
			best, bestYaw = i, yaw
		}
	}
	if !any && len(out) > 0 {
		out[best] = true
	}
	return out
}
