package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhooks persists the webhook outbox: one delivery per (event,
// destination URL), and a log of every attempt to send it.
//
// The life of a delivery: EnqueueWebhook (pending) → ClaimWebhooks leases
// it to one worker (delivering) → RecordWebhookAttempt logs the attempt
// and makes it delivered, pending again (a retry at a later time) or
// failed. A worker that dies mid-send leaves its lease behind; once the
// lease expires the delivery is claimable again, so sends are at least
// once and never concurrent while a lease holds.
type Webhooks interface {
	// EnqueueWebhook inserts d as pending. It fills d.ID ("whd_…") when
	// empty, CreatedAt/UpdatedAt, and NextAttemptAt (now) when zero. Call
	// it on the Tx of the state change the event reports.
	EnqueueWebhook(ctx context.Context, d *WebhookDelivery) error
	// ClaimWebhooks leases up to c.Limit due deliveries of any integration
	// (pending ones whose NextAttemptAt has come, and delivering ones
	// whose lease expired): it marks them delivering until c.Now+c.Lease,
	// counts the attempt and returns them with a fresh LeaseToken. Two
	// claimers never get the same row (PostgreSQL: FOR UPDATE SKIP
	// LOCKED; SQLite: one UPDATE under the database's write lock).
	ClaimWebhooks(ctx context.Context, c WebhookClaim) ([]WebhookDelivery, error)
	// RecordWebhookAttempt logs attempt a of a claimed delivery and moves
	// the delivery to out. The attempt is logged whatever happens (the
	// request was made); the delivery only changes while the caller's
	// lease (leaseToken) still holds it, otherwise ErrConflict: the lease
	// expired and another worker took over, or it was redelivered.
	RecordWebhookAttempt(ctx context.Context, leaseToken string, a *WebhookAttempt, out WebhookOutcome) error
	// GetWebhookDelivery returns one delivery of an integration.
	GetWebhookDelivery(ctx context.Context, integrationID, id string) (*WebhookDelivery, error)
	// ListWebhookDeliveries returns an integration's deliveries, newest
	// first, optionally only those in one status, up to limit after
	// cursor ("" for the first page).
	ListWebhookDeliveries(ctx context.Context, integrationID, status, cursor string, limit int) (WebhookDeliveryPage, error)
	// ListWebhookAttempts returns a delivery's attempts, oldest first.
	ListWebhookAttempts(ctx context.Context, integrationID, deliveryID string) ([]WebhookAttempt, error)
	// RedeliverWebhook makes a delivery pending and due now again, with
	// the same id and a fresh attempt budget. A delivery being sent right
	// now (its lease holds) is refused with ErrConflict, so a redelivery
	// never runs concurrently with the send in flight.
	RedeliverWebhook(ctx context.Context, integrationID, id string) (*WebhookDelivery, error)
	// PruneWebhooks deletes delivered and failed deliveries (with their
	// attempts) last updated before before, and reports how many.
	PruneWebhooks(ctx context.Context, before time.Time) (int64, error)
	// CountWebhooks counts deliveries by status across integrations (the
	// outbox's queue depth, for metrics).
	CountWebhooks(ctx context.Context) (map[string]int64, error)

	// PutWebhookGrant records that the operator lets g.IntegrationID's
	// webhooks reach g.Prefix (a canonical CIDR prefix) although it is not
	// public. Granting a prefix again only updates its note. It fills
	// g.CreatedAt (the first grant's time); an unknown integration is
	// ErrNotFound.
	PutWebhookGrant(ctx context.Context, g *WebhookGrant) error
	// DeleteWebhookGrant withdraws one grant; ErrNotFound when there is
	// none.
	DeleteWebhookGrant(ctx context.Context, integrationID, prefix string) error
	// ListWebhookGrants returns an integration's grants by prefix.
	ListWebhookGrants(ctx context.Context, integrationID string) ([]WebhookGrant, error)

	// RotateWebhookSecret replaces an integration's sealed webhook secret
	// (the integrations row) with r.Next, provided it is still r.Current,
	// else ErrConflict (a concurrent rotation won). r.Current is kept as a
	// retired secret until r.KeepUntil; a zero KeepUntil retires every
	// earlier secret at once instead. Retired secrets past their time, and
	// all but the newest MaxRetiredWebhookSecrets, are deleted.
	RotateWebhookSecret(ctx context.Context, r WebhookSecretRotation) error
	// ListRetiredWebhookSecrets returns an integration's retired secrets
	// still valid at at, newest first.
	ListRetiredWebhookSecrets(ctx context.Context, integrationID string, at time.Time) ([]RetiredWebhookSecret, error)
	// PruneRetiredWebhookSecrets deletes retired secrets expired at at,
	// across integrations, and reports how many.
	PruneRetiredWebhookSecrets(ctx context.Context, at time.Time) (int64, error)
}

// WebhookGrant lets one integration's webhooks reach a non-public prefix.
type WebhookGrant struct {
	IntegrationID string
	Prefix        string // canonical CIDR, e.g. "10.20.0.0/16"
	Note          string // why, for the operator; at most maxGrantNote bytes
	CreatedAt     time.Time
}

// maxGrantNote bounds a grant's note.
const maxGrantNote = 200

// MaxRetiredWebhookSecrets is how many retired secrets an integration's
// deliveries are signed with at most besides the current one: rotating
// again and again within one window must not grow every signature header.
const MaxRetiredWebhookSecrets = 2

// WebhookSecretRotation parameterises RotateWebhookSecret. The secrets are
// sealed by the caller; the store compares and keeps the bytes.
type WebhookSecretRotation struct {
	IntegrationID string
	Current, Next []byte
	At            time.Time // when; zero: now
	KeepUntil     time.Time // end of Current's overlap window; zero: no overlap
}

// RetiredWebhookSecret is a secret a rotation replaced that deliveries are
// still signed with until ExpiresAt, so receivers can switch over.
type RetiredWebhookSecret struct {
	ID            string // "whs_…"
	IntegrationID string
	Sealed        []byte // sealed as the integration's current secret is
	RetiredAt     time.Time
	ExpiresAt     time.Time
}

// Webhook delivery statuses.
const (
	DeliveryPending    = "pending"
	DeliveryDelivering = "delivering"
	DeliveryDelivered  = "delivered"
	DeliveryFailed     = "failed"
)

// MaxWebhookResponseExcerpt is the most of a response body an attempt
// keeps: enough to read a receiver's error message, too little to read a
// service through the delivery log (or fill the database with HTML error
// pages).
const MaxWebhookResponseExcerpt = 256

// maxWebhookErrorText bounds an attempt's error text.
const maxWebhookErrorText = 4 << 10

// WebhookDelivery is one event for one destination URL.
type WebhookDelivery struct {
	ID            string
	IntegrationID string
	Event         string
	URL           string
	// Payload is the exact request body: signed and sent byte for byte.
	Payload json.RawMessage
	// UserAgent is the surface's User-Agent for this delivery ("" = the
	// default); vendor documents name their own.
	UserAgent     string
	Status        string
	Attempts      int // since enqueue or the last redelivery
	TotalAttempts int // ever; numbers the attempts log
	NextAttemptAt time.Time
	LockedUntil   *time.Time // lease of the worker sending it
	// LeaseToken identifies the claim that holds the lease; only set on
	// rows returned by ClaimWebhooks.
	LeaseToken  string
	LastStatus  int // HTTP status of the latest attempt; 0 none
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt *time.Time
}

// WebhookAttempt is one try to send a delivery: the request as sent and
// what came back.
type WebhookAttempt struct {
	ID             string // "wha_…", filled by RecordWebhookAttempt
	IntegrationID  string
	DeliveryID     string
	Number         int // the delivery's TotalAttempts when claimed
	RequestHeaders map[string]string
	RequestBody    string
	ResponseStatus int    // 0 when no response arrived
	ResponseBody   string // excerpt, at most MaxWebhookResponseExcerpt bytes
	LatencyMS      int64
	Error          string
	CreatedAt      time.Time
}

// WebhookClaim parameterises ClaimWebhooks.
type WebhookClaim struct {
	Now   time.Time     // the claimer's clock; zero: now
	Lease time.Duration // how long the rows stay reserved; must be positive
	Limit int           // at most this many rows; <= 0: 1
	// IntegrationID restricts the claim to one integration when set
	// (tests, and draining one tenant); empty claims from all.
	IntegrationID string
}

// WebhookOutcome is the state an attempt leaves its delivery in.
type WebhookOutcome struct {
	// Status is DeliveryDelivered, DeliveryFailed, or DeliveryPending for
	// a retry at RetryAt.
	Status  string
	RetryAt time.Time
}

// WebhookDeliveryPage is one page of ListWebhookDeliveries.
type WebhookDeliveryPage struct {
	Deliveries []WebhookDelivery
	// Next is the opaque cursor of the following page; "" on the last one.
	Next string
}

const webhookCols = `id, integration_id, event, url, payload, status, attempts, total_attempts,
	next_attempt_at, locked_until, last_status, last_error, created_at, updated_at, delivered_at, user_agent`

const attemptCols = `id, integration_id, delivery_id, number, request_headers, request_body,
	response_status, response_body, latency_ms, error, created_at`

func webhookDest(d *WebhookDelivery, payload *string) []any {
	return []any{&d.ID, &d.IntegrationID, &d.Event, &d.URL, payload, &d.Status, &d.Attempts,
		&d.TotalAttempts, tsDest{&d.NextAttemptAt}, nullTSDest{&d.LockedUntil}, &d.LastStatus,
		&d.LastError, tsDest{&d.CreatedAt}, tsDest{&d.UpdatedAt}, nullTSDest{&d.DeliveredAt}, &d.UserAgent}
}

func scanWebhook(r rowScanner) (WebhookDelivery, error) {
	var d WebhookDelivery
	var payload string
	err := r.Scan(webhookDest(&d, &payload)...)
	d.Payload = json.RawMessage(payload)
	return d, err
}

func (c *conn) EnqueueWebhook(ctx context.Context, d *WebhookDelivery) error {
	if d.ID == "" {
		d.ID = NewID("whd_")
	}
	if d.IntegrationID == "" || d.Event == "" || d.URL == "" {
		return wrap(fmt.Errorf("%w: integration, event and URL are required", ErrInvalid), "enqueue webhook %s", d.ID)
	}
	payload, err := jsonArg(d.Payload)
	if err != nil || payload == nil {
		return wrap(fmt.Errorf("%w: payload must be a JSON document", ErrInvalid), "enqueue webhook %s", d.ID)
	}
	d.CreatedAt = stampOrNow(d.CreatedAt)
	d.UpdatedAt = d.CreatedAt
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.CreatedAt
	}
	d.NextAttemptAt = stamp(d.NextAttemptAt)
	d.Status, d.Attempts, d.TotalAttempts = DeliveryPending, 0, 0
	d.LockedUntil, d.LeaseToken, d.LastStatus, d.LastError, d.DeliveredAt = nil, "", 0, "", nil
	_, err = c.exec(ctx, `INSERT INTO webhook_deliveries (`+webhookCols+`)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, NULL, 0, '', ?, ?, NULL, ?)`,
		d.ID, d.IntegrationID, d.Event, d.URL, payload, DeliveryPending,
		c.d.ts(d.NextAttemptAt), c.d.ts(d.CreatedAt), c.d.ts(d.UpdatedAt), d.UserAgent)
	return wrap(err, "enqueue webhook %s", d.ID)
}

func (c *conn) ClaimWebhooks(ctx context.Context, cl WebhookClaim) ([]WebhookDelivery, error) {
	if cl.Lease <= 0 {
		return nil, wrap(fmt.Errorf("%w: lease must be positive", ErrInvalid), "claim webhooks")
	}
	at := stampOrNow(cl.Now)
	limit := max(cl.Limit, 1)
	until := stamp(at.Add(cl.Lease))
	token := NewID("lse_")

	// The inner SELECT picks the due rows; on PostgreSQL it locks them and
	// skips rows another claimer has locked, and rows a concurrent claim
	// already committed are re-checked against the WHERE (no longer due),
	// so each row goes to exactly one claimer. SQLite runs the statement
	// under its single write lock, which gives the same guarantee.
	pick := `SELECT id FROM webhook_deliveries
		WHERE ((status = 'pending' AND next_attempt_at <= ?) OR (status = 'delivering' AND locked_until <= ?))`
	args := []any{c.d.ts(until), token, c.d.ts(at), c.d.ts(at), c.d.ts(at)}
	if cl.IntegrationID != "" {
		pick += ` AND integration_id = ?`
		args = append(args, cl.IntegrationID)
	}
	pick += ` ORDER BY next_attempt_at, id LIMIT ?`
	args = append(args, limit)
	if c.d.forUpdate != "" {
		pick += c.d.forUpdate + ` SKIP LOCKED`
	}
	rows, err := c.query(ctx, `UPDATE webhook_deliveries SET status = 'delivering',
		attempts = attempts + 1, total_attempts = total_attempts + 1,
		locked_until = ?, lease_token = ?, updated_at = ?
		WHERE id IN (`+pick+`)
		RETURNING `+webhookCols, args...)
	if err != nil {
		return nil, wrap(err, "claim webhooks")
	}
	out, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, wrap(err, "claim webhooks")
	}
	for i := range out {
		out[i].LeaseToken = token
	}
	// RETURNING follows no ORDER BY; hand the rows out oldest due first,
	// as they were picked.
	slices.SortFunc(out, func(a, b WebhookDelivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (c *conn) RecordWebhookAttempt(ctx context.Context, leaseToken string, a *WebhookAttempt, out WebhookOutcome) error {
	if a.ID == "" {
		a.ID = NewID("wha_")
	}
	a.CreatedAt = stampOrNow(a.CreatedAt)
	if leaseToken == "" {
		return wrap(fmt.Errorf("%w: no lease token", ErrInvalid), "record webhook attempt of %s", a.DeliveryID)
	}
	headers, err := jsonText(a.RequestHeaders, "{}")
	if err != nil {
		return wrap(err, "record webhook attempt of %s", a.DeliveryID)
	}
	// Response bodies and errors come from outside: PostgreSQL TEXT refuses
	// invalid UTF-8 and NUL bytes, so both are cleaned here for both
	// backends alike.
	a.ResponseBody = cleanText(a.ResponseBody, MaxWebhookResponseExcerpt)
	a.Error = cleanText(a.Error, maxWebhookErrorText)
	a.RequestBody = cleanText(a.RequestBody, -1)

	at := now()
	var set string
	var args []any
	switch out.Status {
	case DeliveryDelivered:
		set, args = `status = 'delivered', delivered_at = ?`, []any{c.d.ts(at)}
	case DeliveryFailed:
		set = `status = 'failed'`
	case DeliveryPending:
		if out.RetryAt.IsZero() {
			out.RetryAt = at
		}
		set, args = `status = 'pending', next_attempt_at = ?`, []any{c.d.ts(stamp(out.RetryAt))}
	default:
		return wrap(fmt.Errorf("%w: outcome %q", ErrInvalid, out.Status), "record webhook attempt of %s", a.DeliveryID)
	}
	args = append(args, a.ResponseStatus, a.Error, c.d.ts(at), a.IntegrationID, a.DeliveryID, leaseToken)

	var lost bool
	err = c.atomic(ctx, func(c *conn) error {
		_, err := c.exec(ctx, `INSERT INTO webhook_attempts (`+attemptCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.IntegrationID, a.DeliveryID, a.Number, headers, a.RequestBody,
			a.ResponseStatus, a.ResponseBody, a.LatencyMS, a.Error, c.d.ts(a.CreatedAt))
		if err != nil {
			return err
		}
		res, err := c.exec(ctx, `UPDATE webhook_deliveries SET `+set+`,
			locked_until = NULL, lease_token = NULL, last_status = ?, last_error = ?, updated_at = ?
			WHERE integration_id = ? AND id = ? AND status = 'delivering' AND lease_token = ?`, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		lost = n == 0
		return err
	})
	if err == nil && lost {
		err = fmt.Errorf("%w: lease lost (expired and claimed again, or redelivered)", ErrConflict)
	}
	return wrap(err, "record webhook attempt of %s", a.DeliveryID)
}

// cleanText makes external text storable: valid UTF-8, no NUL bytes, and
// at most limit bytes (limit < 0: no limit) without splitting a rune.
func cleanText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if limit >= 0 && len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func (c *conn) GetWebhookDelivery(ctx context.Context, integrationID, id string) (*WebhookDelivery, error) {
	var d WebhookDelivery
	var payload string
	err := c.scanRow(ctx, `SELECT `+webhookCols+` FROM webhook_deliveries WHERE integration_id = ? AND id = ?`,
		[]any{integrationID, id}, webhookDest(&d, &payload)...)
	if err != nil {
		return nil, wrap(err, "get webhook delivery %s", id)
	}
	d.Payload = json.RawMessage(payload)
	return &d, nil
}

// webhookStatuses are the values ListWebhookDeliveries filters by.
var webhookStatuses = map[string]bool{
	DeliveryPending: true, DeliveryDelivering: true, DeliveryDelivered: true, DeliveryFailed: true,
}

func (c *conn) ListWebhookDeliveries(ctx context.Context, integrationID, status, cursor string, limit int) (WebhookDeliveryPage, error) {
	if status != "" && !webhookStatuses[status] {
		return WebhookDeliveryPage{}, wrap(fmt.Errorf("%w: unknown delivery status %q", ErrInvalid, status), "list webhook deliveries")
	}
	before, err := decodeCursor(cursor)
	if err != nil {
		return WebhookDeliveryPage{}, wrap(err, "list webhook deliveries")
	}
	limit = pageSize(limit)
	// Newest first, keyset on (created_at, id) descending: the log is read
	// from the latest event back, and pages stay stable while new
	// deliveries are enqueued.
	query := `SELECT ` + webhookCols + ` FROM webhook_deliveries WHERE integration_id = ?`
	args := []any{integrationID}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	if before != nil {
		query += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		ts := c.d.ts(before.createdAt)
		args = append(args, ts, ts, before.id)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return WebhookDeliveryPage{}, wrap(err, "list webhook deliveries")
	}
	out, err := collect(rows, scanWebhook)
	if err != nil {
		return WebhookDeliveryPage{}, wrap(err, "list webhook deliveries")
	}
	if len(out) <= limit {
		return WebhookDeliveryPage{Deliveries: out}, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return WebhookDeliveryPage{Deliveries: out, Next: encodeCursor(faceCursor{createdAt: last.CreatedAt, id: last.ID})}, nil
}

func (c *conn) ListWebhookAttempts(ctx context.Context, integrationID, deliveryID string) ([]WebhookAttempt, error) {
	rows, err := c.query(ctx, `SELECT `+attemptCols+` FROM webhook_attempts
		WHERE integration_id = ? AND delivery_id = ? ORDER BY created_at, number, id`, integrationID, deliveryID)
	if err != nil {
		return nil, wrap(err, "list attempts of webhook delivery %s", deliveryID)
	}
	out, err := collect(rows, func(r rowScanner) (WebhookAttempt, error) {
		var a WebhookAttempt
		var headers string
		if err := r.Scan(&a.ID, &a.IntegrationID, &a.DeliveryID, &a.Number, &headers, &a.RequestBody,
			&a.ResponseStatus, &a.ResponseBody, &a.LatencyMS, &a.Error, tsDest{&a.CreatedAt}); err != nil {
			return a, err
		}
		if err := json.Unmarshal([]byte(headers), &a.RequestHeaders); err != nil {
			return a, fmt.Errorf("decode request headers of attempt %s: %w", a.ID, err)
		}
		return a, nil
	})
	return out, wrap(err, "list attempts of webhook delivery %s", deliveryID)
}

func (c *conn) RedeliverWebhook(ctx context.Context, integrationID, id string) (*WebhookDelivery, error) {
	var d *WebhookDelivery
	err := c.atomic(ctx, func(c *conn) error {
		var status string
		var lockedUntil *time.Time
		if err := c.scanRow(ctx, `SELECT status, locked_until FROM webhook_deliveries
			WHERE integration_id = ? AND id = ?`+c.d.forUpdate, []any{integrationID, id},
			&status, nullTSDest{&lockedUntil}); err != nil {
			return err
		}
		at := now()
		if status == DeliveryDelivering && lockedUntil != nil && lockedUntil.After(at) {
			return fmt.Errorf("%w: delivery is being sent right now (lease until %s)", ErrConflict, lockedUntil.Format(time.RFC3339))
		}
		if err := c.execOne(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0,
			next_attempt_at = ?, locked_until = NULL, lease_token = NULL, updated_at = ?, delivered_at = NULL
			WHERE integration_id = ? AND id = ?`, c.d.ts(at), c.d.ts(at), integrationID, id); err != nil {
			return err
		}
		var err error
		d, err = c.GetWebhookDelivery(ctx, integrationID, id)
		return err
	})
	return d, wrap(err, "redeliver webhook %s", id)
}

func (c *conn) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	// Attempts go with their delivery: ON DELETE CASCADE.
	res, err := c.exec(ctx, `DELETE FROM webhook_deliveries
		WHERE status IN ('delivered', 'failed') AND updated_at < ?`, c.d.ts(stamp(before)))
	if err != nil {
		return 0, wrap(err, "prune webhooks")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "prune webhooks")
}

// Compile-time guard: both the store and a transaction offer Webhooks.
var _ Webhooks = (*conn)(nil)

func (c *conn) CountWebhooks(ctx context.Context) (map[string]int64, error) {
	rows, err := c.query(ctx, `SELECT status, count(*) FROM webhook_deliveries GROUP BY status`)
	if err != nil {
		return nil, wrap(err, "count webhooks")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, wrap(err, "count webhooks")
		}
		out[st] = n
	}
	return out, wrap(rows.Err(), "count webhooks")
}

func (c *conn) PutWebhookGrant(ctx context.Context, g *WebhookGrant) error {
	p, err := netip.ParsePrefix(g.Prefix)
	if err != nil || p.Masked() != p || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return wrap(fmt.Errorf("%w: %q is not a canonical CIDR prefix", ErrInvalid, g.Prefix), "grant webhook prefix")
	}
	g.Note = cleanText(g.Note, maxGrantNote)
	at := stampOrNow(g.CreatedAt)
	// Granting again keeps the first grant's time: it says since when the
	// integration could reach the range.
	err = c.scanRow(ctx, `INSERT INTO webhook_grants (integration_id, prefix, note, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, prefix) DO UPDATE SET note = excluded.note
		RETURNING created_at`, []any{g.IntegrationID, p.String(), g.Note, c.d.ts(at)}, tsDest{&g.CreatedAt})
	g.Prefix = p.String()
	return wrap(err, "grant webhook prefix %s to %s", g.Prefix, g.IntegrationID)
}

func (c *conn) DeleteWebhookGrant(ctx context.Context, integrationID, prefix string) error {
	err := c.execOne(ctx, `DELETE FROM webhook_grants WHERE integration_id = ? AND prefix = ?`, integrationID, prefix)
	return wrap(err, "withdraw webhook prefix %s from %s", prefix, integrationID)
}

func (c *conn) ListWebhookGrants(ctx context.Context, integrationID string) ([]WebhookGrant, error) {
	rows, err := c.query(ctx, `SELECT integration_id, prefix, note, created_at FROM webhook_grants
		WHERE integration_id = ? ORDER BY prefix`, integrationID)
	if err != nil {
		return nil, wrap(err, "list webhook grants of %s", integrationID)
	}
	out, err := collect(rows, func(r rowScanner) (WebhookGrant, error) {
		var g WebhookGrant
		err := r.Scan(&g.IntegrationID, &g.Prefix, &g.Note, tsDest{&g.CreatedAt})
		return g, err
	})
	return out, wrap(err, "list webhook grants of %s", integrationID)
}

func (c *conn) RotateWebhookSecret(ctx context.Context, r WebhookSecretRotation) error {
	if len(r.Next) == 0 {
		return wrap(fmt.Errorf("%w: no new secret", ErrInvalid), "rotate webhook secret of %s", r.IntegrationID)
	}
	at := stampOrNow(r.At)
	err := c.atomic(ctx, func(c *conn) error {
		// Compare-and-swap on the sealed bytes: of two concurrent rotations
		// one wins, and the loser does not retire a secret that was never
		// current.
		query, args := `UPDATE integrations SET sealed_webhook_secret = ? WHERE id = ? AND sealed_webhook_secret = ?`,
			[]any{r.Next, r.IntegrationID, r.Current}
		if len(r.Current) == 0 {
			query = `UPDATE integrations SET sealed_webhook_secret = ?
				WHERE id = ? AND (sealed_webhook_secret IS NULL OR length(sealed_webhook_secret) = 0)`
			args = args[:2]
		}
		res, err := c.exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			var id string
			if err := c.scanRow(ctx, `SELECT id FROM integrations WHERE id = ?`, []any{r.IntegrationID}, &id); err != nil {
				return err
			}
			return fmt.Errorf("%w: the webhook secret changed meanwhile", ErrConflict)
		}
		if r.KeepUntil.IsZero() || len(r.Current) == 0 {
			_, err := c.exec(ctx, `DELETE FROM webhook_retired_secrets WHERE integration_id = ?`, r.IntegrationID)
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO webhook_retired_secrets (id, integration_id, sealed_secret, retired_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, NewID("whs_"), r.IntegrationID, r.Current, c.d.ts(at), c.d.ts(stamp(r.KeepUntil))); err != nil {
			return err
		}
		_, err = c.exec(ctx, `DELETE FROM webhook_retired_secrets WHERE integration_id = ? AND (expires_at <= ? OR id NOT IN
			(SELECT id FROM webhook_retired_secrets WHERE integration_id = ? ORDER BY retired_at DESC, id DESC LIMIT ?))`,
			r.IntegrationID, c.d.ts(at), r.IntegrationID, MaxRetiredWebhookSecrets)
		return err
	})
	return wrap(err, "rotate webhook secret of %s", r.IntegrationID)
}

func (c *conn) ListRetiredWebhookSecrets(ctx context.Context, integrationID string, at time.Time) ([]RetiredWebhookSecret, error) {
	rows, err := c.query(ctx, `SELECT id, integration_id, sealed_secret, retired_at, expires_at FROM webhook_retired_secrets
		WHERE integration_id = ? AND expires_at > ? ORDER BY retired_at DESC, id DESC LIMIT ?`,
		integrationID, c.d.ts(stampOrNow(at)), MaxRetiredWebhookSecrets)
	if err != nil {
		return nil, wrap(err, "list retired webhook secrets of %s", integrationID)
	}
	out, err := collect(rows, func(r rowScanner) (RetiredWebhookSecret, error) {
		var s RetiredWebhookSecret
		err := r.Scan(&s.ID, &s.IntegrationID, &s.Sealed, tsDest{&s.RetiredAt}, tsDest{&s.ExpiresAt})
		return s, err
	})
	return out, wrap(err, "list retired webhook secrets of %s", integrationID)
}

func (c *conn) PruneRetiredWebhookSecrets(ctx context.Context, at time.Time) (int64, error) {
	res, err := c.exec(ctx, `DELETE FROM webhook_retired_secrets WHERE expires_at <= ?`, c.d.ts(stampOrNow(at)))
	if err != nil {
		return 0, wrap(err, "prune retired webhook secrets")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "prune retired webhook secrets")
}
