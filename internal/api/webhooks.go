package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/webhook"
)

// Webhooks is what the /v1/webhooks endpoints need; *webhook.Service
// implements it. Every method is scoped by the caller's integration id.
type Webhooks interface {
	URLs(ctx context.Context, integrationID string) (map[string][]string, error)
	SetURLs(ctx context.Context, integrationID string, hooks map[string][]string) (map[string][]string, error)
	Ping(ctx context.Context, integrationID string) ([]string, error)
	Deliveries(ctx context.Context, integrationID, status, cursor string, limit int) (*webhook.DeliveryList, error)
	Delivery(ctx context.Context, integrationID, id string) (*webhook.DeliveryDetail, error)
	Redeliver(ctx context.Context, integrationID, id string) (*webhook.Delivery, error)
}

var _ Webhooks = (*webhook.Service)(nil)

// webhookURLs is the body of GET and PUT /v1/webhooks.
type webhookURLs struct {
	URLs map[string][]string `json:"urls"`
}

// hooks returns the webhook service, or answers 503 when the server runs
// without one.
func (s *Server) hooks(w http.ResponseWriter, r *http.Request) (Webhooks, string, bool) {
	if s.cfg.Webhooks == nil {
		writeError(w, r, apiErr(CodeUnavailable, "webhooks are not enabled on this server"))
		return nil, "", false
	}
	return s.cfg.Webhooks, principal(r.Context()).Integration.ID, true
}

// getWebhooks: GET /v1/webhooks, the integration's URLs per event.
func (s *Server) getWebhooks(w http.ResponseWriter, r *http.Request) {
	wh, id, ok := s.hooks(w, r)
	if !ok {
		return
	}
	urls, err := wh.URLs(r.Context(), id)
	if err != nil {
		writeError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, webhookURLs{URLs: urls})
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
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields() // a misspelt "urls" must not clear the configuration
	if err := dec.Decode(&body); err != nil {
		writeError(w, r, bodyErrorOr(err, apiErr(CodeInvalidJSON, "malformed JSON body: "+err.Error())))
		return
	}
	if body.URLs == nil {
		writeError(w, r, apiErr(CodeMissingField, `urls is required: {"urls": {"<event or *>": ["https://…"]}}; {"urls": {}} removes all`))
		return
	}
	urls, err := wh.SetURLs(r.Context(), id, body.URLs)
	if err != nil {
		writeError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, webhookURLs{URLs: urls})
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
		writeError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"event": webhook.EventPing, "delivery_ids": ids})
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
		writeError(w, r, apiErr(CodeBadRequest, "status must be pending, delivering, delivered or failed"))
		return
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxPageSize {
			writeError(w, r, apiErr(CodeBadRequest, "limit must be 1–"+strconv.Itoa(store.MaxPageSize)))
			return
		}
		limit = n
	}
	list, err := wh.Deliveries(r.Context(), id, status, q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, list)
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
		writeError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, d)
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
		writeError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusAccepted, d)
}

// webhookError maps the webhook service's client errors onto API codes;
// anything else goes through the usual classification.
func webhookError(err error) error {
	switch {
	case errors.Is(err, webhook.ErrInvalid), errors.Is(err, webhook.ErrBlocked):
		return &Error{Code: CodeBadRequest, Message: err.Error(), err: err}
	case errors.Is(err, store.ErrInvalid):
		// The only client-supplied value the store validates here.
		return &Error{Code: CodeBadRequest, Message: "malformed cursor", err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Code: CodeBadRequest, Message: "the delivery is being sent right now; redeliver it once this attempt has finished", err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "no such webhook delivery", err: err}
	}
	return err
}
