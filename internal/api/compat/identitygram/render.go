package identitygram

import (
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
)

// nestError is the vendor's error body (a NestJS HttpException).
type nestError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error,omitempty"`
}

// renderer answers every failure in the vendor's shape.
type renderer struct{}

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	status, msg := answer(edge.RouteOf(r.Context()), r, e)
	body := nestError{StatusCode: status, Message: msg, Error: http.StatusText(status)}
	if status == http.StatusUnauthorized {
		body.Error = "" // NestJS's default 401 has no "error"
	}
	edge.WriteJSON(w, status, body)
}

// answer is the vendor's status and message for a kind: the seed's words
// where it has them, documented choices (docs/compat.md) where not.
func answer(route string, r *http.Request, e *fault.Error) (int, string) {
	switch e.Kind {
	case fault.Unauthorized:
		return 401, "Unauthorized"
	case fault.NotFound:
		if e.Subject == "integration" {
			return 404, "Integration not found"
		}
		if route == pathImage {
			return 404, "Image not found"
		}
		if route == pathGetVerification {
			return 404, "Verification not found"
		}
		return 404, "Cannot " + r.Method + " " + r.URL.Path // NestJS's unknown route
	case fault.MethodNotAllowed:
		return 404, "Cannot " + r.Method + " " + r.URL.Path
	case fault.NotEnrolled:
		if route == pathStoreImages {
			return 400, "Face not found" // the seed's store-images example
		}
		return 404, "Face not enrolled for this user"
	case fault.Disabled:
		return 403, "Face is disabled for this user"
	case fault.Locked:
		return 403, "Face is locked after too many failed attempts"
	case fault.AlreadyEnrolled:
		return 400, "Face already registered"
	case fault.Duplicate:
		return 409, "Face already registered for another user: " + e.Subject
	case fault.NoFace:
		return 400, "No face found in the image"
	case fault.MultipleFaces:
		return 400, "More than one face found in the image"
	case fault.InvalidImage, fault.EmptyImage, fault.Unsupported:
		return 400, "Invalid file format: " + e.Message
	case fault.ImageTooLarge, fault.PayloadTooLarge:
		return 413, "Payload Too Large"
	case fault.RateLimited:
		return 429, "Too Many Requests"
	case fault.Busy, fault.Unavailable:
		return 503, "Service Unavailable"
	case fault.Internal, fault.Integrity:
		return 500, "Internal server error"
	case fault.Conflict:
		return 409, "Conflict"
	}
	return 400, problems(e) // missing fields, quality, liveness, identity, challenges
}

// problems names every failing image in one message.
func problems(e *fault.Error) string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msg := p.Message
		switch p.Kind {
		case fault.NoFace:
			msg = "No face found in the image"
		case fault.MultipleFaces:
			msg = "More than one face found in the image"
		case fault.Spoof:
			msg = "Photo or screen detected"
		case fault.FacesDiffer:
			msg = "Not the same person as the other images"
		case fault.MissingField:
			msg = "image is required"
		}
		parts[i] = p.Name + ": " + msg
	}
	return strings.Join(parts, "; ")
}
