// Package webhook is Visage's durable webhook system: the outbox writer
// (Enqueue), the signed, retried, SSRF-guarded delivery Worker, and the
// Service behind the /v1/webhooks API and the `visage webhooks` command.
//
// A state change and its event commit in one transaction (Enqueue writes
// outbox rows on the caller's store.Tx); a Worker on any node later claims
// due rows under a lease and POSTs them. Delivery is at least once: a node
// that dies mid-send leaves its lease, which expires, and the delivery is
// sent again with the same id, so receivers dedupe on X-Visage-Delivery.
// docs/webhooks.md is the receiver's side of this contract.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// Event names with a meaning of their own.
const (
	// Wildcard configures URLs that receive every event.
	Wildcard = "*"
	// EventPing is sent by POST /v1/webhooks/ping to test a configuration.
	EventPing = "ping"
)

// Limits of an integration's webhook configuration: generous for real use,
// small enough that one event cannot fan out into thousands of requests.
const (
	MaxEvents       = 32
	MaxURLsPerEvent = 10
	maxEventLen     = 64
)

// NativeDeliveryIDField is the top-level key under which native Visage
// events carry their delivery id in the body.
const NativeDeliveryIDField = "deliveryId"

// Message is one webhook as a surface encodes it: the event name its
// receivers configure URLs for, the exact body, and the User-Agent the
// surface's document names ("" = UserAgent).
type Message struct {
	Event     string
	Body      []byte
	UserAgent string
	// DeliveryIDField, when set, is the top-level key under which each
	// delivery's id is added to Body, which must then be a JSON object
	// without that key. Native events set it (Enqueue); vendor-compatible
	// events leave it empty, because their documents fix the body's shape:
	// their receivers get the id in the X-Visage-Delivery header, covered
	// by the v2 signature.
	DeliveryIDField string
}

// Enqueue writes one pending delivery per URL the integration configured
// for event (and for the wildcard "*"), in the caller's transaction, with
// payload encoded as a JSON object and the delivery id added to it as
// "deliveryId". It is for native Visage events; see EnqueueMessage.
func Enqueue(ctx context.Context, tx store.Tx, in *store.Integration, event string, payload any) ([]string, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("enqueue webhook %s: encode payload: %w", event, err)
	}
	if string(data) == "null" {
		data = []byte("{}")
	}
	return EnqueueMessage(ctx, tx, in, Message{Event: event, Body: data, DeliveryIDField: NativeDeliveryIDField})
}

// EnqueueMessage writes one pending delivery per URL the integration
// configured for m.Event (and for "*"), in the caller's transaction. The
// body is sent exactly as given (vendor-compatible events have fixed
// shapes) unless m.DeliveryIDField asks for the delivery id in it; the
// delivery id, event and integration travel in headers. The state change
// and its event commit or roll back together. It returns the delivery ids,
// none when no URL is configured. After the transaction commits, call
// Service.Notify (or Worker.Notify) to send at once instead of at the next
// poll.
func EnqueueMessage(ctx context.Context, tx store.Tx, in *store.Integration, m Message) ([]string, error) {
	if err := validEvent(m.Event); err != nil || m.Event == Wildcard {
		return nil, fmt.Errorf("enqueue webhook: %w: event %q", ErrInvalid, m.Event)
	}
	urls := Destinations(in.WebhookURLs, m.Event)
	if len(urls) == 0 {
		return nil, nil
	}
	if !json.Valid(m.Body) {
		return nil, fmt.Errorf("enqueue webhook %s: %w: body is not JSON", m.Event, ErrInvalid)
	}
	if m.DeliveryIDField != "" {
		if err := canCarryID(m.Body, m.DeliveryIDField); err != nil {
			return nil, fmt.Errorf("enqueue webhook %s: %w", m.Event, err)
		}
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	ids := make([]string, 0, len(urls))
	for _, u := range urls {
		d := &store.WebhookDelivery{ID: store.NewID("whd_"), IntegrationID: in.ID, Event: m.Event, URL: u,
			Payload: m.Body, UserAgent: m.UserAgent, CreatedAt: at}
		if m.DeliveryIDField != "" {
			d.Payload = withID(m.Body, m.DeliveryIDField, d.ID)
		}
		if err := tx.EnqueueWebhook(ctx, d); err != nil {
			return nil, fmt.Errorf("enqueue webhook %s: %w", m.Event, err)
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// canCarryID checks that body is a JSON object without key, so withID
// yields valid JSON with one value for key.
func canCarryID(body []byte, key string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return fmt.Errorf("%w: a native event body must be a JSON object", ErrInvalid)
	}
	if _, ok := obj[key]; ok {
		return fmt.Errorf("%w: the body already has a %q field", ErrInvalid, key)
	}
	return nil
}

// withID returns body (a JSON object, see canCarryID) with key: id added
// first. The rest of the body is kept byte for byte.
func withID(body []byte, key, id string) []byte {
	k, _ := json.Marshal(key) // strings always encode
	v, _ := json.Marshal(id)
	rest := bytes.TrimSpace(body)[1:] // after "{"
	out := make([]byte, 0, len(body)+len(k)+len(v)+3)
	out = append(append(append(append(out, '{'), k...), ':'), v...)
	if t := bytes.TrimSpace(rest); len(t) == 1 { // just "}"
		return append(out, '}')
	}
	return append(append(out, ','), rest...)
}

// Destinations lists the URLs notified of event: its own, then the
// wildcard's, each once.
func Destinations(hooks map[string][]string, event string) []string {
	var out []string
	for _, u := range slices.Concat(hooks[event], hooks[Wildcard]) {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// ValidateURLs checks and normalises a webhook configuration (event →
// URLs) of an integration without grants; see Access.ValidateURLs.
func ValidateURLs(g *Guard, hooks map[string][]string) (map[string][]string, error) {
	return g.For(nil).ValidateURLs(hooks)
}

// ValidateURLs checks and normalises a webhook configuration (event →
// URLs): event names well formed, URLs this integration may reach,
// duplicates and empty lists dropped, within MaxEvents and
// MaxURLsPerEvent.
func (a Access) ValidateURLs(hooks map[string][]string) (map[string][]string, error) {
	out := map[string][]string{}
	for event, urls := range hooks {
		event = strings.TrimSpace(event)
		if err := validEvent(event); err != nil {
			return nil, err
		}
		for _, u := range urls {
			u = strings.TrimSpace(u)
			if err := a.ValidateURL(u); err != nil {
				return nil, fmt.Errorf("event %q: %w", event, err)
			}
			if !slices.Contains(out[event], u) {
				out[event] = append(out[event], u)
			}
		}
	}
	for event, urls := range out {
		if len(urls) > MaxURLsPerEvent {
			return nil, fmt.Errorf("%w: event %q has %d URLs, at most %d allowed", ErrInvalid, event, len(urls), MaxURLsPerEvent)
		}
	}
	if len(out) > MaxEvents {
		return nil, fmt.Errorf("%w: %d events configured, at most %d allowed", ErrInvalid, len(out), MaxEvents)
	}
	return out, nil
}

// validEvent accepts "*" and names of 1–64 characters from a–z, A–Z, 0–9, "_",
// "." and "-" starting with a letter: safe in a header and a query string.
func validEvent(name string) error {
	if name == Wildcard {
		return nil
	}
	letter := func(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	ok := name != "" && len(name) <= maxEventLen && letter(rune(name[0]))
	for _, c := range name {
		ok = ok && (letter(c) || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%w: event name %q (want \"*\" or 1–%d of a–z A–Z 0–9 _ . - starting with a letter)", ErrInvalid, name, maxEventLen)
	}
	return nil
}
