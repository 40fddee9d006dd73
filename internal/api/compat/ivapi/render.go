package ivapi

import (
	"net/http"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
)

// failure is the vendor's error body (the seed lists the statuses and
// texts; the shape is Visage's choice, docs/compat.md).
type failure struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
}

type renderer struct{}

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	status, msg := answer(e)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	edge.WriteJSON(w, status, failure{Success: false, Error: msg})
}

// answer is the seed's status and text for a kind.
func answer(e *fault.Error) (int, string) {
	switch e.Kind {
	case fault.Unauthorized:
		if e.Subject == edge.NoCredentials {
			return 400, "API key is required"
		}
		return 401, "Invalid API key"
	case fault.MissingField:
		return 400, e.Message
	case fault.ImageTooLarge, fault.PayloadTooLarge:
		return 413, "File too large: the selfie video may be at most 50 MB and the ID photo 20 MB"
	case fault.NotFound, fault.MethodNotAllowed:
		return 404, "Not found"
	case fault.Expired:
		return 400, "This verification page has expired: open the verification link again"
	case fault.RateLimited:
		return 429, "Too many requests"
	case fault.Busy, fault.Unavailable:
		return 503, "The service is busy: retry shortly"
	case fault.Internal, fault.Integrity, fault.Conflict:
		return 500, "Verification processing failed"
	}
	// The files' problems (unreadable video, no face…): said plainly, so
	// the person can record again.
	return 400, e.Summary()
}
