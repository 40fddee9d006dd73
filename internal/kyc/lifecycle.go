package kyc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// Open is the hosted page opening a case's link: Not Started becomes
// Started (and the abandonment timer runs). It returns the case and its
// integration (for the page's theme and callback).
func (s *Service) Open(ctx context.Context, token string) (*Case, *store.Integration, error) {
	id, ok := s.caseOfToken(token)
	if !ok {
		return nil, nil, fault.New(fault.NotFound, "no such verification link")
	}
	v, err := s.st.GetVerificationByID(ctx, id)
	if err != nil {
		return nil, nil, notFound(err)
	}
	in, err := s.st.GetIntegration(ctx, v.IntegrationID)
	if err != nil {
		return nil, nil, fail(err)
	}
	if v.Status == StatusNotStarted {
		if v, err = s.start(ctx, v.IntegrationID, v.ID); err != nil {
			return nil, nil, fail(err)
		}
	}
	c, err := s.view(ctx, v, nil)
	if err != nil {
		return nil, nil, fail(err)
	}
	return c, in, linkState(c, s.now())
}

// linkState refuses a link whose case cannot take a submission.
func linkState(c *Case, now time.Time) error {
	switch c.Status {
	case StatusExpired:
		return fault.New(fault.Expired, "this verification link has expired")
	case StatusAbandoned:
		return fault.New(fault.Expired, "this verification was abandoned; ask for a new link")
	case StatusNotStarted, StatusStarted:
		if now.After(c.ExpiresAt) && c.Status == StatusNotStarted {
			return fault.New(fault.Expired, "this verification link has expired")
		}
		return nil
	}
	return fault.New(fault.Closed, "this verification is already %s", strings.ToLower(c.Status))
}

// start moves a Not Started case to Started in its own transaction.
func (s *Service) start(ctx context.Context, integrationID, id string) (*store.Verification, error) {
	var v *store.Verification
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if v, err = tx.GetVerificationForUpdate(ctx, integrationID, id); err != nil {
			return err
		}
		if v.Status != StatusNotStarted || s.now().After(v.ExpiresAt) {
			return nil // another request started it, or the timer will expire it
		}
		return s.move(ctx, tx, v, StatusStarted, "")
	})
	if err == nil {
		s.events.Committed()
	}
	return v, err
}

// move changes a locked case's status, sets its timestamps and timer, and
// queues the status event (and the decision event for a final decision).
func (s *Service) move(ctx context.Context, tx store.Tx, v *store.Verification, to, reason string, extra ...snapshot) error {
	if !CanMove(v.Status, to) {
		return fault.New(fault.Conflict, "a verification that is %s cannot become %s", v.Status, to)
	}
	from, now := v.Status, s.now()
	v.Status, v.Reason = to, reason
	switch to {
	case StatusStarted:
		v.StartedAt = &now
		t := now.Add(s.opt.AbandonAfter)
		v.TimerAt = &t
	case StatusSubmitted:
		v.SubmittedAt, v.TimerAt = &now, nil
	case StatusApproved, StatusDeclined:
		v.DecidedAt, v.TimerAt = &now, nil
	default:
		v.TimerAt = nil
	}
	if err := tx.UpdateVerification(ctx, v); err != nil {
		return err
	}
	evs := append([]snapshot{StatusChanged{From: from}}, extra...)
	if to == StatusApproved || to == StatusDeclined {
		evs = append(evs, Decided{ByReview: from == StatusUnderReview})
	}
	return s.emit(ctx, tx, v, nil, evs...)
}

// Decide is an operator's decision on a case Under Review, recorded with
// the note, the reviewer and the checks it overrides.
func (s *Service) Decide(ctx context.Context, integrationID, id string, approve bool, note, by string) (*Case, error) {
	note, by = strings.TrimSpace(note), strings.TrimSpace(by)
	if len(note) > 2000 {
		return nil, fault.New(fault.BadRequest, "the note is at most 2000 characters")
	}
	var v *store.Verification
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if v, err = tx.GetVerificationForUpdate(ctx, integrationID, id); err != nil {
			return notFound(err)
		}
		if v.Status != StatusUnderReview {
			return fault.New(fault.Conflict, "only a verification Under Review can be decided (this one is %s)", v.Status)
		}
		r := OperatorReview{Approved: approve, Note: note, By: by, At: s.now().UTC()}
		if v.Decision, err = json.Marshal(r); err != nil {
			return err
		}
		to := StatusDeclined
		if approve {
			to = StatusApproved
		}
		if err := actor.Record(ctx, tx, integrationID, "verification.reviewed", id,
			map[string]any{"approved": approve, "by": by, "note": note}); err != nil {
			return err
		}
		return s.move(ctx, tx, v, to, ReasonOperator)
	})
	if err != nil {
		return nil, fail(err)
	}
	s.events.Committed()
	s.log.InfoContext(ctx, "verification reviewed", "integration", integrationID, "verification", id, "approved", approve, "by", by)
	c, err := s.view(ctx, v, nil)
	return c, fail(err)
}

// Sweep fires due timers: links never opened expire, started cases left
// idle are abandoned. Every node may run it: each case is claimed under a
// row lock (skipped by the others on PostgreSQL). It returns how many
// cases changed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n := 0
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		due, err := tx.ClaimDueVerifications(ctx, s.now(), 100)
		if err != nil {
			return err
		}
		for i := range due {
			v := &due[i]
			switch v.Status {
			case StatusNotStarted:
				err = s.move(ctx, tx, v, StatusExpired, ReasonLinkExpired)
			case StatusStarted:
				err = s.move(ctx, tx, v, StatusAbandoned, ReasonAbandoned)
			default:
				v.TimerAt = nil // stale timer of a case that moved on
				err = tx.UpdateVerification(ctx, v)
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep verifications: %w", err)
	}
	if n > 0 {
		s.events.Committed()
	}
	return n, nil
}

// Purge deletes case files past their integration's retention (seed 002
// promises 7 days) and files a crash left pending. Cases keep their
// results and scores; their file URLs then answer 410 Gone.
func (s *Service) Purge(ctx context.Context) (int, error) {
	ins, err := s.st.ListIntegrations(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, in := range ins {
		days := in.Policy.FileRetentionDays
		if days <= 0 {
			days = DefaultFileRetentionDays
		}
		files, err := s.st.ListVerificationFilesBefore(ctx, in.ID, store.FileStored, s.now().AddDate(0, 0, -days), 500)
		if err != nil {
			return n, err
		}
		for i := range files {
			if err := s.purgeFile(ctx, &files[i]); err != nil {
				return n, err
			}
			n++
		}
	}
	// A pending file older than any submission can take was left by a
	// crash between its blob write and its case's commit.
	pending, err := s.st.ListPendingFiles(ctx, s.now().Add(-pendingGrace), 500)
	if err != nil {
		return n, err
	}
	for i := range pending {
		if err := s.purgeFile(ctx, &pending[i]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Retention defaults.
const (
	DefaultFileRetentionDays = 7
	pendingGrace             = 15 * time.Minute
)

// purgeFile deletes a file's blob, then marks it purged (a crash between
// leaves it stored or pending, and the next purge retries).
func (s *Service) purgeFile(ctx context.Context, f *store.VerificationFile) error {
	if err := s.blobs.Delete(ctx, f.BlobKey); err != nil {
		return fmt.Errorf("purge file %s: %w", f.ID, err)
	}
	now := s.now()
	f.State, f.PurgedAt = store.FilePurged, &now
	if err := s.st.SetVerificationFileState(ctx, f); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
