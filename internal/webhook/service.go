package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/fault/classify"

	"github.com/visagehq/visage/internal/store"
)

// Service is what the API and the CLI do with webhooks: configure an
// integration's URLs, test them, read the delivery log, redeliver.
type Service struct {
	st     store.Store
	guard  *Guard
	notify func()
}

// NewService builds the service. notify (Worker.Notify; nil for none) is
// called after a transaction that enqueued deliveries commits, so a worker
// in this process sends them at once rather than at its next poll.
func NewService(st store.Store, guard *Guard, notify func()) *Service {
	if notify == nil {
		notify = func() {}
	}
	return &Service{st: st, guard: guard, notify: notify}
}

// Notify nudges this process's worker: call it after committing a
// transaction in which Enqueue wrote deliveries, so they go out now rather
// than at the next poll.
func (s *Service) Notify() { s.notify() }

// Guard is the destination policy URLs are validated against.
func (s *Service) Guard() *Guard { return s.guard }

// URLs returns the integration's webhook configuration (event → URLs),
// never nil.
func (s *Service) URLs(ctx context.Context, integrationID string) (map[string][]string, error) {
	v, err := s.uRLs(ctx, integrationID)
	return v, classified(err)
}

func (s *Service) uRLs(ctx context.Context, integrationID string) (map[string][]string, error) {
	in, err := s.st.GetIntegration(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("webhook URLs: %w", err)
	}
	return nonNil(in.WebhookURLs), nil
}

// SetURLs replaces the integration's webhook configuration after
// validating it (ValidateURLs), and returns the stored form.
func (s *Service) SetURLs(ctx context.Context, integrationID string, hooks map[string][]string) (map[string][]string, error) {
	v, err := s.setURLs(ctx, integrationID, hooks)
	return v, classified(err)
}

func (s *Service) setURLs(ctx context.Context, integrationID string, hooks map[string][]string) (map[string][]string, error) {
	clean, err := ValidateURLs(s.guard, hooks)
	if err != nil {
		return nil, err
	}
	// Read and write in one transaction from the current row, since
	// UpdateIntegration overwrites every column: a caller's copy of the
	// integration (loaded at authentication) may already be stale.
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		in.WebhookURLs = clean
		return tx.UpdateIntegration(ctx, in)
	})
	if err != nil {
		return nil, fmt.Errorf("set webhook URLs: %w", err)
	}
	return clean, nil
}

// Ping enqueues a ping event to the integration's "ping" and "*" URLs and
// returns the delivery ids; ErrInvalid when none is configured.
func (s *Service) Ping(ctx context.Context, integrationID string) ([]string, error) {
	v, err := s.ping(ctx, integrationID)
	return v, classified(err)
}

func (s *Service) ping(ctx context.Context, integrationID string) ([]string, error) {
	var ids []string
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		ids, err = Enqueue(ctx, tx, in, EventPing, map[string]string{
			"event":         EventPing,
			"integrationId": in.ID,
			"message":       "Webhook test from Visage: this endpoint receives events of integration " + in.Name + ".",
			"timestamp":     time.Now().UTC().Format(time.RFC3339Nano),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ping: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no webhook URL is configured for %q or %q", ErrInvalid, EventPing, Wildcard)
	}
	s.notify()
	return ids, nil
}

// Delivery is the API's view of a delivery.
type Delivery struct {
	ID                 string
	Event              string
	URL                string
	Status             string
	Attempts           int // since enqueue or the last redelivery
	TotalAttempts      int // ever
	NextAttemptAt      *time.Time
	LastResponseStatus int
	LastError          string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	DeliveredAt        *time.Time
	Payload            json.RawMessage // only on a single delivery
}

// Attempt is the API's view of one attempt.
type Attempt struct {
	Number         int
	At             time.Time
	RequestHeaders map[string]string
	ResponseStatus int    // 0: no response
	ResponseBody   string // first 4 KB
	LatencyMS      int64
	Error          string
}

// DeliveryDetail is a delivery with its payload and attempts.
type DeliveryDetail struct {
	Delivery
	AttemptLog []Attempt
}

// DeliveryList is one page of deliveries, newest first.
type DeliveryList struct {
	Deliveries []Delivery
	Next       string
}

// Deliveries lists the integration's deliveries, newest first; status ""
// means all.
func (s *Service) Deliveries(ctx context.Context, integrationID, status, cursor string, limit int) (*DeliveryList, error) {
	v, err := s.deliveries(ctx, integrationID, status, cursor, limit)
	return v, classified(err)
}

func (s *Service) deliveries(ctx context.Context, integrationID, status, cursor string, limit int) (*DeliveryList, error) {
	page, err := s.st.ListWebhookDeliveries(ctx, integrationID, status, cursor, limit)
	if err != nil {
		return nil, err
	}
	out := &DeliveryList{Deliveries: make([]Delivery, 0, len(page.Deliveries)), Next: page.Next}
	for i := range page.Deliveries {
		out.Deliveries = append(out.Deliveries, view(&page.Deliveries[i], false))
	}
	return out, nil
}

// Delivery returns one delivery with its payload and attempt log.
func (s *Service) Delivery(ctx context.Context, integrationID, id string) (*DeliveryDetail, error) {
	v, err := s.delivery(ctx, integrationID, id)
	return v, classified(err)
}

func (s *Service) delivery(ctx context.Context, integrationID, id string) (*DeliveryDetail, error) {
	d, err := s.st.GetWebhookDelivery(ctx, integrationID, id)
	if err != nil {
		return nil, err
	}
	atts, err := s.st.ListWebhookAttempts(ctx, integrationID, id)
	if err != nil {
		return nil, err
	}
	out := &DeliveryDetail{Delivery: view(d, true), AttemptLog: make([]Attempt, 0, len(atts))}
	for _, a := range atts {
		out.AttemptLog = append(out.AttemptLog, Attempt{Number: a.Number, At: a.CreatedAt, RequestHeaders: a.RequestHeaders,
			ResponseStatus: a.ResponseStatus, ResponseBody: a.ResponseBody, LatencyMS: a.LatencyMS, Error: a.Error})
	}
	return out, nil
}

// Redeliver sends a delivery again, same id, with a fresh attempt budget.
// A delivery being sent right now is refused with store.ErrConflict.
func (s *Service) Redeliver(ctx context.Context, integrationID, id string) (*Delivery, error) {
	v, err := s.redeliver(ctx, integrationID, id)
	return v, classified(err)
}

func (s *Service) redeliver(ctx context.Context, integrationID, id string) (*Delivery, error) {
	d, err := s.st.RedeliverWebhook(ctx, integrationID, id)
	if err != nil {
		return nil, err
	}
	s.notify()
	v := view(d, false)
	return &v, nil
}

func view(d *store.WebhookDelivery, payload bool) Delivery {
	v := Delivery{ID: d.ID, Event: d.Event, URL: d.URL, Status: d.Status, Attempts: d.Attempts,
		TotalAttempts: d.TotalAttempts, LastResponseStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: d.DeliveredAt}
	switch d.Status {
	case store.DeliveryPending:
		t := d.NextAttemptAt
		v.NextAttemptAt = &t
	case store.DeliveryDelivering:
		v.NextAttemptAt = d.LockedUntil // if this send is lost, the next one starts then
	}
	if payload {
		v.Payload = d.Payload
	}
	return v
}

// classified maps the service's errors onto fault kinds: the one place the
// webhook API's client errors are named.
func classified(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrBlocked):
		return fault.Wrap(fault.BadRequest, err, "%s", strings.TrimPrefix(err.Error(), "ping: "))
	case errors.Is(err, store.ErrInvalid):
		// The only client-supplied value the store validates here.
		return fault.Wrap(fault.BadRequest, err, "malformed cursor")
	case errors.Is(err, store.ErrConflict):
		return fault.Wrap(fault.Conflict, err, "the delivery is being sent right now; redeliver it once this attempt has finished")
	case errors.Is(err, store.ErrNotFound):
		return fault.Wrap(fault.NotFound, err, "no such webhook delivery")
	}
	return classify.Err(err)
}

func nonNil(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}
