package faceauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// errUsedMeanwhile calls off a retention erasure: the face was used after
// the sweep listed it.
var errUsedMeanwhile = errors.New("face used since the retention sweep listed it")

const (
	// retentionBatch bounds one sweep's erasures per integration, so a
	// first sweep after lowering retention_days spreads over minutes
	// rather than holding the sweeper for an hour.
	retentionBatch = 200
	// EndedSessionRetention is how long the row of an ended capture
	// session is kept (its frames went when it ended): long enough to
	// answer "why did my link stop working", no longer.
	EndedSessionRetention = 7 * 24 * time.Hour
)

// SweepRetention erases faces (rows, images, templates, kept frames and
// their index entries) that no one has used for their integration's
// retention_days, the rows of capture and face-authentication sessions
// that ended over a week ago, and spent single-use tokens past their
// expiry. Every erasure is in the audit log as face.erased with reason
// retention. Several nodes may run it at once: a face erased by another
// node is skipped.
func (s *Service) SweepRetention(ctx context.Context, now time.Time) (faces int, sessions int64, err error) {
	ins, err := s.st.ListIntegrations(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("retention: %w", err)
	}
	for _, in := range ins {
		if in.Policy.RetentionDays <= 0 {
			continue
		}
		n, err := s.sweepIntegration(ctx, &in, now.AddDate(0, 0, -in.Policy.RetentionDays))
		faces += n
		if err != nil {
			return faces, 0, err
		}
	}
	sessions, err = s.st.DeleteEndedCaptureSessions(ctx, now.Add(-EndedSessionRetention))
	if err != nil {
		return faces, 0, fmt.Errorf("retention: %w", err)
	}
	// A spent token past its expiry is refused for that alone.
	if _, err := s.st.DeleteExpiredTokens(ctx, now); err != nil {
		return faces, sessions, fmt.Errorf("retention: %w", err)
	}
	auth, err := s.st.DeleteEndedAuthSessions(ctx, now.Add(-EndedSessionRetention))
	if err != nil {
		return faces, sessions, fmt.Errorf("retention: %w", err)
	}
	sessions += auth
	return faces, sessions, nil
}

func (s *Service) sweepIntegration(ctx context.Context, in *store.Integration, before time.Time) (int, error) {
	stale, err := s.st.ListUnusedFaces(ctx, in.ID, before, retentionBatch)
	if err != nil {
		return 0, fmt.Errorf("retention of %s: %w", in.ID, err)
	}
	stillUnused := unusedSince(ctx, in.ID, before)
	n := 0
	for _, f := range stale {
		err := s.deleteFace(ctx, in.ID, f.FaceID, "retention", stillUnused)
		switch {
		case errors.Is(err, ErrFaceNotEnrolled), errors.Is(err, errUsedMeanwhile):
			continue // erased or used meanwhile, by a request or another node
		case err != nil:
			return n, fmt.Errorf("retention of %s: face %s: %w", in.ID, f.ID, err)
		}
		n++
	}
	if n > 0 {
		s.log.InfoContext(ctx, "retention: faces erased", "integration", in.ID, "faces", n,
			"retention_days", in.Policy.RetentionDays, "unused_since", before.UTC().Format(time.RFC3339))
	}
	return n, nil
}

// unusedSince is the erasure guard of a retention sweep: the list was
// read a moment ago, so the erasure checks, under a row lock in its own
// transaction, that the face is still unused.
func unusedSince(ctx context.Context, integrationID string, before time.Time) func(store.Tx, *store.Face) error {
	return func(tx store.Tx, f *store.Face) error {
		unused, err := tx.FaceUnusedSince(ctx, integrationID, f.ID, before)
		if err == nil && !unused {
			return errUsedMeanwhile
		}
		return err
	}
}
