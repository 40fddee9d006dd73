package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/fault/classify"

	"github.com/visagehq/visage/internal/store"
)

// Service is what the API and the CLI do with webhooks: configure an
// integration's URLs, test them, read the delivery log, redeliver, rotate
// the signing secret, and (operators only) grant non-public destinations.
type Service struct {
	st     store.Store
	guard  *Guard
	notify func()
	seal   SealFunc
	log    *slog.Logger
	now    func() time.Time
}

// SealFunc seals a new webhook secret of an integration the way the
// integration's current one is sealed, so that whatever opens that one
// (tenancy.Service.OpenSecrets) opens the new one too.
type SealFunc func(integrationID string, secret []byte) ([]byte, error)

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithSealer enables RotateSecret; without it rotation is unavailable.
func WithSealer(seal SealFunc) ServiceOption { return func(s *Service) { s.seal = seal } }

// WithLogger sets where refusal details go (they are never shown to
// tenants); default slog.Default().
func WithLogger(log *slog.Logger) ServiceOption { return func(s *Service) { s.log = log } }

// NewService builds the service. notify (Worker.Notify; nil for none) is
// called after a transaction that enqueued deliveries commits, so a worker
// in this process sends them at once rather than at its next poll.
func NewService(st store.Store, guard *Guard, notify func(), opts ...ServiceOption) *Service {
	if notify == nil {
		notify = func() {}
	}
	s := &Service{st: st, guard: guard, notify: notify, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.log = s.log.With("component", "webhook")
	return s
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
// validating it (Access.ValidateURLs with the integration's grants), and
// returns the stored form.
func (s *Service) SetURLs(ctx context.Context, integrationID string, hooks map[string][]string) (map[string][]string, error) {
	v, err := s.setURLs(ctx, integrationID, hooks)
	return v, classified(err)
}

func (s *Service) setURLs(ctx context.Context, integrationID string, hooks map[string][]string) (map[string][]string, error) {
	var clean map[string][]string
	// Read and write in one transaction from the current row, since
	// UpdateIntegration overwrites every column: a caller's copy of the
	// integration (loaded at authentication) may already be stale.
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		access, err := s.access(ctx, tx, integrationID)
		if err != nil {
			return err
		}
		if clean, err = access.ValidateURLs(hooks); err != nil {
			if d := BlockedDetail(err); d != "" {
				s.log.InfoContext(ctx, "webhook URL refused", "integration", integrationID, "detail", d)
			}
			return err
		}
		before := in.WebhookURLs
		in.WebhookURLs = clean
		if err := tx.UpdateIntegration(ctx, in); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "webhooks.changed", integrationID,
			map[string]any{"before": before, "after": clean})
	})
	if err != nil {
		return nil, fmt.Errorf("set webhook URLs: %w", err)
	}
	return clean, nil
}

// access is the guard for one integration, with its grants.
func (s *Service) access(ctx context.Context, q store.Data, integrationID string) (Access, error) {
	grants, err := q.ListWebhookGrants(ctx, integrationID)
	if err != nil {
		return Access{}, err
	}
	return s.guard.For(grantPrefixes(grants, s.log)), nil
}

// grantPrefixes parses stored grants; a row that does not parse (written
// by hand) grants nothing and is logged.
func grantPrefixes(grants []store.WebhookGrant, log *slog.Logger) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(grants))
	for _, g := range grants {
		p, err := netip.ParsePrefix(g.Prefix)
		if err != nil {
			log.Warn("ignoring malformed webhook grant", "integration", g.IntegrationID, "prefix", g.Prefix, "err", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// Grant is a non-public destination range an operator let an integration
// reach.
type Grant struct {
	Prefix    string
	Note      string
	CreatedAt time.Time
}

// Grants lists the integration's grants.
func (s *Service) Grants(ctx context.Context, integrationID string) ([]Grant, error) {
	if _, err := s.st.GetIntegration(ctx, integrationID); err != nil {
		return nil, classified(fmt.Errorf("webhook grants: %w", err))
	}
	gs, err := s.st.ListWebhookGrants(ctx, integrationID)
	if err != nil {
		return nil, classified(fmt.Errorf("webhook grants: %w", err))
	}
	out := make([]Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, Grant{Prefix: g.Prefix, Note: g.Note, CreatedAt: g.CreatedAt})
	}
	return out, nil
}

// GrantPrefix lets the integration's webhooks reach prefix (CIDR or one
// address) although it is not public. It is the operator's decision, so
// it is offered to the CLI, never to a tenant's API key; the prefix must
// lie inside the server's ceiling (Guard.CheckGrant). Granting again
// updates the note.
func (s *Service) GrantPrefix(ctx context.Context, integrationID, prefix, note string) (*Grant, error) {
	p, err := ParsePrefix(prefix)
	if err != nil {
		return nil, classified(err)
	}
	if err := s.guard.CheckGrant(p); err != nil {
		return nil, classified(err)
	}
	g := &store.WebhookGrant{IntegrationID: integrationID, Prefix: p.String(), Note: note}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.PutWebhookGrant(ctx, g); err != nil {
			return err
		}
		// The note stays out of the audit log, which the tenant reads: it
		// is the operator's and may name internal systems.
		return actor.Record(ctx, tx, integrationID, "webhooks.destination_granted", g.Prefix, nil)
	})
	if err != nil {
		return nil, classified(fmt.Errorf("grant webhook destination: %w", err))
	}
	s.log.InfoContext(ctx, "webhook destination granted", "integration", integrationID, "prefix", g.Prefix)
	return &Grant{Prefix: g.Prefix, Note: g.Note, CreatedAt: g.CreatedAt}, nil
}

// RevokePrefix withdraws a grant. URLs already configured inside it stay
// configured and are refused when sent.
func (s *Service) RevokePrefix(ctx context.Context, integrationID, prefix string) error {
	p, err := ParsePrefix(prefix)
	if err != nil {
		return classified(err)
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteWebhookGrant(ctx, integrationID, p.String()); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "webhooks.destination_revoked", p.String(), nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, err, "integration %s has no webhook grant %s", integrationID, p)
	}
	return classified(err)
}

// Secret rotation limits.
const (
	// DefaultSecretOverlap is how long a replaced secret keeps signing
	// deliveries when the caller does not say.
	DefaultSecretOverlap = 24 * time.Hour
	// MaxSecretOverlap bounds the overlap: a secret replaced because it
	// leaked should not live on for long.
	MaxSecretOverlap = 7 * 24 * time.Hour
	// secretPrefix and secretBytes make secrets as integration creation
	// does: "whsec_" and 32 random bytes, base64url.
	secretPrefix = "whsec_"
	secretBytes  = 32
)

// RotatedSecret is the result of RotateSecret. Secret is shown once.
type RotatedSecret struct {
	Secret    string
	RotatedAt time.Time
	// PreviousValidUntil is when the replaced secret stops signing
	// deliveries; nil when it stopped at once (no overlap).
	PreviousValidUntil *time.Time
}

// RotateSecret gives the integration a new webhook signing secret. For
// overlap (0 to MaxSecretOverlap) the replaced secret keeps signing every
// delivery as well, so receivers can switch over without rejecting one;
// overlap 0 retires it, and any secret retired before, at once (use that
// when a secret leaked).
func (s *Service) RotateSecret(ctx context.Context, integrationID string, overlap time.Duration) (*RotatedSecret, error) {
	if s.seal == nil {
		return nil, fault.New(fault.Unavailable, "webhook secret rotation is not enabled on this server")
	}
	if overlap < 0 || overlap > MaxSecretOverlap {
		return nil, fault.New(fault.BadRequest, "the overlap must be between 0 and %d seconds", int(MaxSecretOverlap.Seconds()))
	}
	raw := make([]byte, secretBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails on supported platforms
	secret := secretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sealed, err := s.seal(integrationID, []byte(secret))
	if err != nil {
		return nil, classify.Err(fmt.Errorf("rotate webhook secret: seal: %w", err))
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	out := &RotatedSecret{Secret: secret, RotatedAt: now}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		r := store.WebhookSecretRotation{IntegrationID: integrationID, Current: in.SealedWebhookSecret, Next: sealed, At: now}
		if overlap > 0 && len(in.SealedWebhookSecret) > 0 {
			until := now.Add(overlap)
			r.KeepUntil, out.PreviousValidUntil = until, &until
		}
		if err := tx.RotateWebhookSecret(ctx, r); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "webhooks.secret_rotated", integrationID,
			map[string]any{"overlap_seconds": int64(overlap.Seconds())})
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, fault.Wrap(fault.Conflict, err, "the webhook secret was rotated at the same time; try again")
	case errors.Is(err, store.ErrNotFound):
		return nil, fault.Wrap(fault.NotFound, err, "no integration %s", integrationID)
	case err != nil:
		return nil, classify.Err(fmt.Errorf("rotate webhook secret: %w", err))
	}
	s.log.InfoContext(ctx, "webhook secret rotated", "integration", integrationID, "overlap", overlap)
	return out, nil
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
	ResponseStatus int // 0: no response
	// ResponseBody is the start of the response (store.MaxWebhookResponseExcerpt
	// bytes, control characters removed), only from a public or granted
	// destination; "" otherwise.
	ResponseBody string
	LatencyMS    int64
	Error        string
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
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrBlocked), errors.Is(err, ErrGrantOutsideCeiling):
		msg := err.Error()
		for _, p := range []string{"ping: ", "set webhook URLs: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		return fault.Wrap(fault.BadRequest, err, "%s", msg)
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
