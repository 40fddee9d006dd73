package kyc

import (
	"context"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/store"
)

// Event names.
const (
	EventStatusChanged = "verification.status"
	EventDecided       = "verification.decided"
	EventProcessed     = "verification.processed"
)

// StatusChanged: a case moved to Case.Status (every change, creation
// included, where From is "").
type StatusChanged struct {
	Case Case
	From string
}

// Decided: a case was approved or declined, by its checks or by an
// operator (ByReview).
type Decided struct {
	Case     Case
	ByReview bool
}

// Processed: a submission's checks ran; Case holds the outcome (Approved,
// Declined or Under Review).
type Processed struct{ Case Case }

// EventName implements faceauth.Event.
func (StatusChanged) EventName() string { return EventStatusChanged }

// EventName implements faceauth.Event.
func (Decided) EventName() string { return EventDecided }

// EventName implements faceauth.Event.
func (Processed) EventName() string { return EventProcessed }

type noEvents struct{}

func (noEvents) Enqueue(context.Context, store.Tx, string, faceauth.Event) error { return nil }
func (noEvents) Committed()                                                      {}

// eventOf fills an event's case snapshot.
type snapshot interface{ with(c Case) faceauth.Event }

func (e StatusChanged) with(c Case) faceauth.Event { e.Case = c; return e }
func (e Decided) with(c Case) faceauth.Event       { e.Case = c; return e }
func (e Processed) with(c Case) faceauth.Event     { e.Case = c; return e }

// emit queues events about v, as it stands in tx, in tx.
func (s *Service) emit(ctx context.Context, tx store.Tx, v *store.Verification, files []store.VerificationFile, evs ...snapshot) error {
	c, err := s.viewIn(ctx, tx, v, files)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if err := s.events.Enqueue(ctx, tx, v.IntegrationID, e.with(*c)); err != nil {
			return err
		}
	}
	return nil
}
