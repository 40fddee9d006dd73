package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/webhook"
)

// Webhooks is what the /v1/webhooks endpoints need; *webhook.Service
// implements it. Every method is scoped by the caller's integration id and
// returns classified errors.
type Webhooks interface {
	URLs(ctx context.Context, integrationID string) (map[string][]string, error)
	SetURLs(ctx context.Context, integrationID string, hooks map[string][]string) (map[string][]string, error)
	Ping(ctx context.Context, integrationID string) ([]string, error)
	Deliveries(ctx context.Context, integrationID, status, cursor string, limit int) (*webhook.DeliveryList, error)
	Delivery(ctx context.Context, integrationID, id string) (*webhook.DeliveryDetail, error)
	Redeliver(ctx context.Context, integrationID, id string) (*webhook.Delivery, error)
	RotateSecret(ctx context.Context, integrationID string, overlap time.Duration) (*webhook.RotatedSecret, error)
	Grants(ctx context.Context, integrationID string) ([]webhook.Grant, error)
}

var _ Webhooks = (*webhook.Service)(nil)

// webhookURLs is the body of GET and PUT /v1/webhooks.
type webhookURLs struct {
	URLs map[string][]string `json:"urls"`
}

// Delivery is a webhook delivery as the API shows it.
type Delivery struct {
	ID                 string          `json:"id"`
	Event              string          `json:"event"`
	URL                string          `json:"url"`
	Status             string          `json:"status"`
	Attempts           int             `json:"attempts"`       // since enqueue or the last redelivery
	TotalAttempts      int             `json:"total_attempts"` // ever
	NextAttemptAt      *time.Time      `json:"next_attempt_at,omitempty"`
	LastResponseStatus int             `json:"last_response_status,omitempty"`
	LastError          string          `json:"last_error,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	DeliveredAt        *time.Time      `json:"delivered_at,omitempty"`
	Payload            json.RawMessage `json:"payload,omitempty"` // only on a single delivery
}

// Attempt is one attempt of a delivery.
type Attempt struct {
	Number         int               `json:"number"`
	At             time.Time         `json:"at"`
	RequestHeaders map[string]string `json:"request_headers"`
	ResponseStatus int               `json:"response_status"` // 0: no response
	// ResponseBody is the response's first 256 bytes, cleaned of control
	// characters, and only from a public destination or one the operator
	// granted the integration; "" otherwise.
	ResponseBody string `json:"response_body"`
	LatencyMS    int64  `json:"latency_ms"`
	Error        string `json:"error,omitempty"`
}

// DeliveryDetail is a delivery with its payload and attempts.
type DeliveryDetail struct {
	Delivery
	AttemptLog []Attempt `json:"attempt_log"`
}

// DeliveryList is one page of deliveries, newest first.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
	Next       string     `json:"next_cursor,omitempty"`
}

// DeliveryOf converts a delivery (the CLI prints the same shape).
func DeliveryOf(d webhook.Delivery) Delivery {
	return Delivery{ID: d.ID, Event: d.Event, URL: d.URL, Status: d.Status, Attempts: d.Attempts, TotalAttempts: d.TotalAttempts,
		NextAttemptAt: d.NextAttemptAt, LastResponseStatus: d.LastResponseStatus, LastError: d.LastError,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: d.DeliveredAt, Payload: d.Payload}
}

// DeliveryDetailOf converts a delivery with its attempts.
func DeliveryDetailOf(d *webhook.DeliveryDetail) DeliveryDetail {
	out := DeliveryDetail{Delivery: DeliveryOf(d.Delivery), AttemptLog: make([]Attempt, 0, len(d.AttemptLog))}
	for _, a := range d.AttemptLog {
		out.AttemptLog = append(out.AttemptLog, Attempt{Number: a.Number, At: a.At, RequestHeaders: a.RequestHeaders,
			ResponseStatus: a.ResponseStatus, ResponseBody: a.ResponseBody, LatencyMS: a.LatencyMS, Error: a.Error})
	}
	return out
}

// DeliveryListOf converts a page of deliveries.
func DeliveryListOf(l *webhook.DeliveryList) DeliveryList {
	out := DeliveryList{Deliveries: make([]Delivery, 0, len(l.Deliveries)), Next: l.Next}
	for _, d := range l.Deliveries {
		out.Deliveries = append(out.Deliveries, DeliveryOf(d))
	}
	return out
}

// hooks returns the webhook service, or answers 503 when the server runs
// without one.
func (s *Server) hooks(w http.ResponseWriter, r *http.Request) (Webhooks, string, bool) {
	if s.cfg.Webhooks == nil {
		edge.Fail(w, r, fault.New(fault.Unavailable, "webhooks are not enabled on this server"))
		return nil, "", false
	}
	return s.cfg.Webhooks, integrationID(r), true
}

// getWebhooks: GET /v1/webhooks, the integration's URLs per event.
func (s *Server) getWebhooks(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	urls, err := wh.URLs(r.Context(), id)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, webhookURLs{URLs: urls})
}

// putWebhooks: PUT /v1/webhooks replaces the URLs per event, e.g.
// {"urls": {"images_stored": ["https://…"], "*": ["https://…"]}}; {"urls": {}}
// removes them all.
func (s *Server) putWebhooks(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	var body webhookURLs
	// A misspelt "urls" must not clear the configuration.
	if err := edge.DecodeJSON(r, &body, true); err != nil {
		edge.Fail(w, r, err)
		return
	}
	if body.URLs == nil {
		edge.Fail(w, r, fault.New(fault.MissingField, `urls is required: {"urls": {"<event or *>": ["https://…"]}}; {"urls": {}} removes all`))
		return
	}
	urls, err := wh.SetURLs(r.Context(), id, body.URLs)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, webhookURLs{URLs: urls})
}

// pingWebhooks: POST /v1/webhooks/ping enqueues a "ping" event to the URLs
// of "ping" and "*"; the deliveries then show up in the log.
func (s *Server) pingWebhooks(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	ids, err := wh.Ping(r.Context(), id)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusAccepted, map[string]any{"event": webhook.EventPing, "delivery_ids": ids})
}

// listWebhookDeliveries: GET /v1/webhooks/deliveries?status=&cursor=&limit=,
// newest first.
func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "", store.DeliveryPending, store.DeliveryDelivering, store.DeliveryDelivered, store.DeliveryFailed:
	default:
		edge.Fail(w, r, fault.New(fault.BadRequest, "status must be pending, delivering, delivered or failed"))
		return
	}
	limit, ok := pageLimit(w, r)
	if !ok {
		return
	}
	list, err := wh.Deliveries(r.Context(), id, status, q.Get("cursor"), limit)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, DeliveryListOf(list))
}

// getWebhookDelivery: GET /v1/webhooks/deliveries/{id}, with the payload
// and every attempt (request headers, response status and body excerpt).
func (s *Server) getWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	d, err := wh.Delivery(r.Context(), id, r.PathValue("id"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, DeliveryDetailOf(d))
}

// redeliverWebhook: POST /v1/webhooks/deliveries/{id}/redeliver sends a
// delivery again, with the same id, now.
func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	d, err := wh.Redeliver(r.Context(), id, r.PathValue("id"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusAccepted, DeliveryOf(*d))
}

// rotatedSecret is the answer of POST /v1/webhooks/secret/rotate.
type rotatedSecret struct {
	Secret    string    `json:"secret"`
	RotatedAt time.Time `json:"rotated_at"`
	// PreviousValidUntil is when the replaced secret stops signing
	// deliveries; absent when it stopped at once.
	PreviousValidUntil *time.Time `json:"previous_valid_until,omitempty"`
	OverlapSeconds     int64      `json:"overlap_seconds"`
}

// rotateWebhookSecret: POST /v1/webhooks/secret/rotate, body optional
// {"overlap_seconds": 86400}, gives the integration a new signing secret,
// shown once. For the overlap (default 24 h, 0–7 days) deliveries are
// signed with the old secret too, so receivers can switch without a gap;
// 0 drops every earlier secret at once (a leaked secret).
func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	var body struct {
		OverlapSeconds *int64 `json:"overlap_seconds"`
	}
	// The body is optional: an empty one takes the default overlap.
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); err == nil {
		r.Body = struct {
			io.Reader
			io.Closer
		}{br, r.Body}
		if err := edge.DecodeJSON(r, &body, true); err != nil {
			edge.Fail(w, r, err)
			return
		}
	}
	overlap := webhook.DefaultSecretOverlap
	if body.OverlapSeconds != nil {
		n, limit := *body.OverlapSeconds, int64(webhook.MaxSecretOverlap/time.Second)
		if n < 0 || n > limit {
			edge.Fail(w, r, fault.New(fault.BadRequest, "overlap_seconds must be 0–%d", limit))
			return
		}
		overlap = time.Duration(n) * time.Second
	}
	rot, err := wh.RotateSecret(r.Context(), id, overlap)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	// The secret is shown once: no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	edge.WriteJSON(w, http.StatusOK, rotatedSecret{Secret: rot.Secret, RotatedAt: rot.RotatedAt,
		PreviousValidUntil: rot.PreviousValidUntil, OverlapSeconds: int64(overlap / time.Second)})
}

// webhookGrant is one non-public range the operator let the integration
// reach. The operator's note stays with the operator (it may name internal
// systems).
type webhookGrant struct {
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

// listWebhookGrants: GET /v1/webhooks/grants, the private or internal
// ranges this integration's webhooks may reach. Only an operator grants
// them (`visage webhooks grant`), never an API key.
func (s *Server) listWebhookGrants(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	gs, err := wh.Grants(r.Context(), id)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	out := make([]webhookGrant, 0, len(gs))
	for _, g := range gs {
		out = append(out, webhookGrant{Prefix: g.Prefix, CreatedAt: g.CreatedAt})
	}
	edge.WriteJSON(w, http.StatusOK, map[string]any{"grants": out})
}
