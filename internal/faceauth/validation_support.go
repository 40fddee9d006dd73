package faceauth

import (
	"context"
	"fmt"

	"github.com/visagehq/visage/internal/face"
)

// This file serves the applicant service (validation requests): a 1:N
// search by an embedding it already has, so a selfie analysed once for
// its checks is not analysed again to be searched.

// SearchEmbedding finds the enrolled faces of the tenant most similar to
// e: at most limit (1–MaxCandidates), scoring at least threshold (0–100;
// 0 = the policy's match threshold), best first.
func (s *Service) SearchEmbedding(ctx context.Context, t Tenant, e *face.Embedding, limit int, threshold float64) ([]Candidate, error) {
	t = s.resolve(t)
	switch {
	case e == nil:
		return nil, classified(fmt.Errorf("%w: no embedding to search", ErrInvalidInput))
	case limit <= 0 || limit > MaxCandidates:
		return nil, classified(fmt.Errorf("%w: limit is 1–%d", ErrInvalidInput, MaxCandidates))
	case threshold != threshold || threshold < 0 || threshold > 100:
		return nil, classified(fmt.Errorf("%w: threshold is 0–100", ErrInvalidInput))
	case threshold == 0:
		threshold = t.Policy.MatchThreshold
	}
	hits, err := s.nearest(ctx, t.ID, e, limit, threshold)
	if err == nil {
		s.metrics.Search(t.ID)
	}
	return hits, classified(err)
}
