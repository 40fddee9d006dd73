package faceauth

import (
	"context"
	"fmt"

	"github.com/visagehq/visage/internal/face"
)

// LivenessResult is passive liveness on the 0–1 scale.
type LivenessResult struct {
	Score     float32 `json:"score"`
	Threshold float32 `json:"threshold"`
	Live      bool    `json:"live"`
}

// Verification is a 1:1 result.
type Verification struct {
	FaceID   string `json:"face_id"`
	Match    bool   `json:"match"`
	Verified bool   `json:"verified"` // match and live
	Similarity
	Threshold float32        `json:"threshold"`
	Liveness  LivenessResult `json:"liveness"`
	Quality   *face.Quality  `json:"quality"`
	Box       face.Box       `json:"box"`
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
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	var best Similarity
	for i, r := range refs {
		sim, err := s.similarity(p.face.Embedding, r)
		if err != nil {
			return nil, err
		}
		if i == 0 || sim.Cosine > best.Cosine {
			best = sim
		}
	}
	v := &Verification{FaceID: faceID, Similarity: best, Threshold: float32(t.Policy.MatchThreshold),
		Liveness: s.live(t, p.face), Quality: p.face.Quality, Box: p.face.Box}
	v.Match = float64(best.Score) >= t.Policy.MatchThreshold
	v.Verified = v.Match && v.Liveness.Live
	s.log.InfoContext(ctx, "verify", "integration", t.ID, "face", f.ID, "similarity", best.Score, "match", v.Match, "live", v.Liveness.Live)
	return v, nil
}

// Comparison is the result of comparing two images without enrolment.
type Comparison struct {
	Match bool `json:"match"`
	Similarity
	Threshold float32 `json:"threshold"`
	A         Side    `json:"a"`
	B         Side    `json:"b"`
}

// Side describes one compared image's face.
type Side struct {
	Box      face.Box       `json:"box"`
	Liveness LivenessResult `json:"liveness"`
	Quality  *face.Quality  `json:"quality"`
}

// Compare compares the single faces of two images.
func (s *Service) Compare(ctx context.Context, t Tenant, a, b Image) (*Comparison, error) {
	pa, err := s.oneFace(ctx, a.Data, false)
	if err != nil {
		return nil, &ImageError{Index: 0, Name: a.Name, Err: err}
	}
	pb, err := s.oneFace(ctx, b.Data, false)
	if err != nil {
		return nil, &ImageError{Index: 1, Name: b.Name, Err: err}
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
	Width  int         `json:"width"`
	Height int         `json:"height"`
	Faces  []face.Face `json:"faces"`
}

// Analyze detects and analyses every face (at most 20) in an image.
func (s *Service) Analyze(ctx context.Context, img Image) (*Analysis, error) {
	im, faces, err := s.analyze(ctx, img.Data, face.Options{MaxFaces: 20, Quality: true, Liveness: true, Attributes: true})
	if err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	if faces == nil {
		faces = []face.Face{}
	}
	return &Analysis{Width: im.W, Height: im.H, Faces: faces}, nil
}

// Liveness checks passive liveness of the single face in an image.
func (s *Service) Liveness(ctx context.Context, t Tenant, img Image) (*LivenessResult, *face.Face, error) {
	_, faces, err := s.analyze(ctx, img.Data, face.Options{Quality: true, Liveness: true})
	if err == nil {
		var f face.Face
		if f, err = face.One(faces); err == nil {
			r := s.live(t, f)
			return &r, &f, nil
		}
	}
	return nil, nil, &ImageError{Name: img.Name, Err: err}
}

// Candidate is one 1:N search hit.
type Candidate struct {
	FaceID string `json:"face_id"`
	Similarity
}

// SearchResult is a 1:N search.
type SearchResult struct {
	Candidates []Candidate    `json:"candidates"`
	Threshold  float32        `json:"threshold"`
	Liveness   LivenessResult `json:"liveness"`
	Quality    *face.Quality  `json:"quality"`
}

// MaxCandidates bounds a search.
const MaxCandidates = 100

// Search finds the enrolled faces most similar to the image's face, at
// most limit, above threshold (0–100; 0 = the policy's match threshold).
func (s *Service) Search(ctx context.Context, t Tenant, img Image, limit int, threshold float64) (*SearchResult, error) {
	if limit <= 0 {
		limit = 10
	}
	if limit > MaxCandidates {
		return nil, fmt.Errorf("%w: limit at most %d", ErrInvalidInput, MaxCandidates)
	}
	if threshold <= 0 {
		threshold = t.Policy.MatchThreshold
	}
	if threshold > 100 {
		return nil, fmt.Errorf("%w: threshold is 0–100", ErrInvalidInput)
	}
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	ix, err := s.freshIndex(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	minCos := s.eng.CosineAt(float32(threshold))
	res := &SearchResult{Candidates: []Candidate{}, Threshold: float32(threshold), Liveness: s.live(t, p.face), Quality: p.face.Quality}
	for _, h := range ix.Search(p.face.Embedding.Vector, limit, minCos) {
		res.Candidates = append(res.Candidates, Candidate{FaceID: h.FaceKey,
			Similarity: Similarity{Score: round2(s.eng.Score(h.Cosine)), Cosine: round4(h.Cosine)}})
	}
	return res, nil
}
