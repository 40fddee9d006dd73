package facialauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// errorBody is this surface's error shape (the seed shows none): a
// sentence and a stable identifier.
type errorBody struct {
	Message    string `json:"message"`
	Identifier string `json:"identifier"`
}

type renderer struct{}

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	status := statusFor(e.Kind)
	msg := e.Summary()
	if e.Kind == fault.Internal {
		msg = "Internal error"
	}
	switch e.Kind {
	case fault.Unauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="visage"`)
	case fault.Busy, fault.Unavailable:
		w.Header().Set("Retry-After", "1")
	}
	edge.WriteJSON(w, status, errorBody{Message: msg, Identifier: strings.ToUpper(string(e.Kind))})
}

func statusFor(k fault.Kind) int {
	switch k {
	case fault.Unauthorized:
		return 401
	case fault.Forbidden, fault.Disabled:
		return 403
	case fault.NotFound:
		return 404
	case fault.MethodNotAllowed:
		return 405
	case fault.Locked:
		return 423
	case fault.Expired, fault.Gone:
		return 410
	case fault.Conflict, fault.Closed:
		return 409
	case fault.PayloadTooLarge, fault.ImageTooLarge:
		return 413
	case fault.RateLimited:
		return 429
	case fault.Busy, fault.Unavailable:
		return 503
	case fault.Internal, fault.Integrity:
		return 500
	}
	return 400
}

// UserAgent of this surface's webhooks (the seed names none).
const UserAgent = "Visage-FacialAuth/1.0"

// EventFacialAuthentication is the webhook event name of a result.
const EventFacialAuthentication = "facialAuthentication"

// Encode turns a face-authentication result into this surface's webhook;
// other events give none.
func Encode(ev faceauth.Event) (event string, body []byte, ok bool, err error) {
	e, is := ev.(faceauth.FaceAuthenticated)
	if !is {
		return "", nil, false, nil
	}
	status := "DENIED"
	switch {
	case e.Authenticated:
		status = "APPROVED"
	case e.Reason == faceauth.FeedbackExpired:
		status = "EXPIRED"
	}
	body, err = json.Marshal(map[string]any{"type": typeAuthentication, "method": methodFaceMatching, "status": status,
		"scanRef": e.Subject, "clientId": e.FaceID, "authSessionId": e.SessionID, "reason": nullable(e.Reason),
		"similarity": e.Similarity, "liveness": e.Liveness, "timestamp": e.At.UTC().Format(time.RFC3339)})
	if err != nil {
		return "", nil, false, fmt.Errorf("facialauth: encode result: %w", err)
	}
	return EventFacialAuthentication, body, true, nil
}
