package faceauth

import (
	"context"
	"fmt"
	"time"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// LivenessResult is passive liveness on the 0–1 scale.
type LivenessResult struct {
	Score     float32
	Threshold float32
	Live      bool
}

// Verification is a 1:1 result.
type Verification struct {
	FaceID   string
	Match    bool
	Verified bool // match and live
	Similarity
	Threshold float32
	Liveness  LivenessResult
	Quality   *face.Quality
	Box       face.Box
}

// Outcomes of a verification, for metrics and logs.
const (
	OutcomeVerified = "verified"
	OutcomeNoMatch  = "no_match"
	OutcomeSpoof    = "spoof"
)

// Outcome names how a verification ended.
func (v *Verification) Outcome() string {
	switch {
	case v.Verified:
		return OutcomeVerified
	case !v.Match:
		return OutcomeNoMatch
	}
	return OutcomeSpoof
}

func (s *Service) live(t Tenant, f face.Face) LivenessResult {
	r := LivenessResult{Threshold: float32(t.Policy.LivenessThreshold)}
	if f.Liveness != nil {
		r.Score = round4(*f.Liveness)
		r.Live = float64(*f.Liveness) >= t.Policy.LivenessThreshold
	}
	return r
}

// Verify compares a live image with an enrolled face's templates and
// reports the best similarity. It does not fail on low quality or a
// suspected spoof: it reports them and withholds "verified".
func (s *Service) Verify(ctx context.Context, t Tenant, faceID string, img Image) (*Verification, error) {
	t = s.resolve(t)
	v, err := s.verify(ctx, t, faceID, img)
	if err == nil {
		s.metrics.Verification(t.ID, v.Outcome())
	}
	return v, classified(err)
}

func (s *Service) verify(ctx context.Context, t Tenant, faceID string, img Image) (*Verification, error) {
	f, err := s.getFace(ctx, t.ID, faceID)
	if err != nil {
		return nil, err
	}
	refs, err := s.templates(ctx, t.ID, f.ID)
	if err != nil {
		return nil, err
	}
	// A face whose 2FA registration never finished has no template yet:
	// that is "not enrolled", not "disabled".
	if len(refs) == 0 {
		return nil, fmt.Errorf("%w: %q has no template for model %s", ErrFaceNotEnrolled, faceID, s.eng.EmbeddingModel())
	}
	if !f.Enabled {
		return nil, fmt.Errorf("%w: %q", ErrFaceDisabled, faceID)
	}
	if f.LockedAt != nil {
		return nil, &fault.Error{Kind: fault.Locked, Message: fmt.Sprintf("face %q is locked after %d failed verifications in a row (since %s); an operator can unlock it",
			faceID, f.FailedAttempts, f.LockedAt.UTC().Format(time.RFC3339)), Subject: faceID}
	}
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	best, err := s.best(p.face.Embedding, refs)
	if err != nil {
		return nil, err
	}
	v := &Verification{FaceID: faceID, Similarity: best, Threshold: float32(t.Policy.MatchThreshold),
		Liveness: s.live(t, p.face), Quality: p.face.Quality, Box: p.face.Box}
	v.Match = float64(best.Score) >= t.Policy.MatchThreshold
	v.Verified = v.Match && v.Liveness.Live
	s.log.InfoContext(ctx, "verify", "integration", t.ID, "face", f.ID, "similarity", best.Score, "match", v.Match, "live", v.Liveness.Live)
	if err := s.countAttempt(ctx, t, f, v); err != nil {
		return nil, err
	}
	return v, nil
}

// countAttempt enforces the integration's max_attempts: failed
// verifications in a row lock the face until an operator unlocks it; a
// success resets the count, unless failures running alongside it locked
// the face first (then the success is withheld too).
func (s *Service) countAttempt(ctx context.Context, t Tenant, f *store.Face, v *Verification) error {
	// The count must land even when the client hangs up on its answer.
	ctx = context.WithoutCancel(ctx)
	if v.Verified {
		if f.FailedAttempts == 0 {
			return nil
		}
		return s.st.PassVerification(ctx, t.ID, f.ID)
	}
	n, locked, err := s.st.FailVerification(ctx, t.ID, f.ID, t.Policy.MaxAttempts)
	if err != nil {
		return err
	}
	if locked && n == t.Policy.MaxAttempts {
		s.log.WarnContext(ctx, "face locked after failed verifications", "integration", t.ID, "face", f.ID, "attempts", n)
	}
	return nil
}

// best is the highest similarity of e to any of refs.
func (s *Service) best(e *face.Embedding, refs []*face.Embedding) (Similarity, error) {
	var best Similarity
	for i, r := range refs {
		sim, err := s.similarity(e, r)
		if err != nil {
			return Similarity{}, err
		}
		if i == 0 || sim.Cosine > best.Cosine {
			best = sim
		}
	}
	return best, nil
}

// Comparison is the result of comparing two images without enrolment.
type Comparison struct {
	Match bool
	Similarity
	Threshold float32
	A, B      Side
}

// Side describes one compared image's face.
type Side struct {
	Box      face.Box
	Liveness LivenessResult
	Quality  *face.Quality
}

// Compare compares the single faces of two images.
func (s *Service) Compare(ctx context.Context, t Tenant, a, b Image) (*Comparison, error) {
	t = s.resolve(t)
	c, err := s.compare(ctx, t, a, b)
	return c, classified(err)
}

func (s *Service) compare(ctx context.Context, t Tenant, a, b Image) (*Comparison, error) {
	pa, errA := s.oneFace(ctx, a.Data, false)
	pb, errB := s.oneFace(ctx, b.Data, false)
	var bad []*ImageError
	if errA != nil {
		bad = append(bad, &ImageError{Index: 0, Name: a.Name, Err: errA})
	}
	if errB != nil {
		bad = append(bad, &ImageError{Index: 1, Name: b.Name, Err: errB})
	}
	if len(bad) > 0 {
		return nil, imagesFault(bad)
	}
	sim, err := s.similarity(pa.face.Embedding, pb.face.Embedding)
	if err != nil {
		return nil, err
	}
	return &Comparison{Match: float64(sim.Score) >= t.Policy.MatchThreshold, Similarity: sim, Threshold: float32(t.Policy.MatchThreshold),
		A: Side{Box: pa.face.Box, Liveness: s.live(t, pa.face), Quality: pa.face.Quality},
		B: Side{Box: pb.face.Box, Liveness: s.live(t, pb.face), Quality: pb.face.Quality}}, nil
}

// Analysis is every face in an image with everything measured.
type Analysis struct {
	Width, Height int
	Faces         []face.Face
}

// Analyze detects and analyses every face (at most 20) in an image.
func (s *Service) Analyze(ctx context.Context, img Image) (*Analysis, error) {
	im, faces, err := s.analyze(ctx, img.Data, face.Options{MaxFaces: 20, Quality: true, Liveness: true, Attributes: true})
	if err != nil {
		return nil, classified(&ImageError{Name: img.Name, Err: err})
	}
	return &Analysis{Width: im.srcW, Height: im.srcH, Faces: faces}, nil
}

// Liveness checks passive liveness of the single face in an image.
func (s *Service) Liveness(ctx context.Context, t Tenant, img Image) (*LivenessResult, *face.Face, error) {
	t = s.resolve(t)
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, nil, classified(&ImageError{Name: img.Name, Err: err})
	}
	r := s.live(t, p.face)
	if !r.Live {
		s.metrics.Spoof(t.ID)
	}
	return &r, &p.face, nil
}

// Candidate is one 1:N search hit.
type Candidate struct {
	FaceID string
	Similarity
}

// SearchResult is a 1:N search.
type SearchResult struct {
	Candidates []Candidate
	Threshold  float32
	Liveness   LivenessResult
	Quality    *face.Quality
}

// MaxCandidates bounds a search.
const MaxCandidates = 100

// Search finds the enrolled faces most similar to the image's face, at
// most limit, above threshold (0–100; 0 = the policy's match threshold).
func (s *Service) Search(ctx context.Context, t Tenant, img Image, limit int, threshold float64) (*SearchResult, error) {
	t = s.resolve(t)
	r, err := s.search(ctx, t, img, limit, threshold)
	if err == nil {
		s.metrics.Search(t.ID)
	}
	return r, classified(err)
}

func (s *Service) search(ctx context.Context, t Tenant, img Image, limit int, threshold float64) (*SearchResult, error) {
	if limit <= 0 {
		limit = 10
	}
	if limit > MaxCandidates {
		return nil, fmt.Errorf("%w: limit at most %d", ErrInvalidInput, MaxCandidates)
	}
	if threshold != threshold || threshold < 0 || threshold > 100 { // NaN included
		return nil, fmt.Errorf("%w: threshold is 0–100", ErrInvalidInput)
	}
	if threshold == 0 {
		threshold = t.Policy.MatchThreshold
	}
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	hits, err := s.nearest(ctx, t.ID, p.face.Embedding, limit, threshold)
	if err != nil {
		return nil, err
	}
	return &SearchResult{Candidates: hits, Threshold: float32(threshold), Liveness: s.live(t, p.face), Quality: p.face.Quality}, nil
}

// nearest searches the integration's index for e.
func (s *Service) nearest(ctx context.Context, integrationID string, e *face.Embedding, limit int, threshold float64) ([]Candidate, error) {
	ix, err := s.freshIndex(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	out := []Candidate{}
	for _, h := range ix.Search(e.Vector, limit, s.eng.CosineAt(float32(threshold))) {
		out = append(out, Candidate{FaceID: h.FaceKey,
			Similarity: Similarity{Score: round2(s.eng.Score(h.Cosine)), Cosine: round4(h.Cosine)}})
	}
	return out, nil
}
