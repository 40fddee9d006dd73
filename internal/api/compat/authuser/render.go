package authuser

import (
	"context"
	"net/http"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// Table 1, serviceResultCode: the seed's four codes (0, -100, -101,
// -102), then Visage's own for what the seed does not cover. Outcomes of
// an authentication answer 200, as the seed's do; a request that cannot
// be processed answers 4xx/5xx with the same body.
const (
	codeAuthenticated = 0
	codeUserMismatch  = -100
	codeNotLive       = -101
	codeNoMatch       = -102

	codeTemplateInvalid = -103 // altered, truncated or not a template
	codeTemplateForeign = -104 // sealed for another integration
	codeTemplateModel   = -105 // made by another face model
	codeTokenExpired    = -106
	codeTokenUsed       = -107
	codeTokenInvalid    = -108
	codeImageNoFace     = -109 // the reference image shows no face, or several

	codeInvalidRequest = -1 // 400/413: a field is missing or malformed
	codeUnauthorized   = -2 // 401/403
	codeUnavailable    = -3 // 429/503: retry later
	codeInternal       = -4 // 500
)

// Table 2, serviceFacialAuthenticationResult (the seed shows only 3 =
// "Positive").
const (
	facialNotEvaluated = 0
	facialNegative     = 2
	facialPositive     = 3
)

// Table 3, serviceLivenessResult (the seed shows only 3 = "Live").
const (
	livenessNotEvaluated = 0
	livenessSpoof        = 2
	livenessLive         = 3
)

var (
	facialLog   = map[int]string{facialNotEvaluated: "NotEvaluated", facialNegative: "Negative", facialPositive: "Positive"}
	livenessLog = map[int]string{livenessNotEvaluated: "NotEvaluated", livenessSpoof: "Spoof", livenessLive: "Live"}
	resultLog   = map[int]string{
		codeNotLive:         "The bestImageToken parameter does not match a living person.",
		codeNoMatch:         "User authentication failed due to non-matching templateRaw.",
		codeTemplateInvalid: "The registeredTemplateRaw parameter is not a valid template, or it was altered.",
		codeTemplateForeign: "The registeredTemplateRaw parameter was issued for another integration.",
		codeTemplateModel:   "The registeredTemplateRaw parameter was made by another face model: enrol the user again.",
		codeTokenExpired:    "The bestImageToken parameter has expired.",
		codeTokenUsed:       "The bestImageToken parameter was already used.",
		codeTokenInvalid:    "The bestImageToken parameter is not a valid token, or it was altered.",
	}
)

func userMismatchLog(userID string) string {
	return "The registeredTemplateRaw parameter does not match the ID: [" + userID + "]"
}

// renderer answers every failure in the seed's body: the handler's (with
// its merchant reference and transaction id, passed in the context) and
// the edge's own (401, 404, 413, 429…).
type renderer struct{}

type respKey struct{}

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	resp, ok := r.Context().Value(respKey{}).(*Response)
	if !ok {
		resp = newResponse("")
	}
	status, code, msg := answer(e)
	resp.ServiceResultCode, resp.ServiceResultLog = code, msg
	switch e.Kind {
	case fault.RateLimited, fault.Busy, fault.Unavailable:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	edge.WriteJSON(w, status, resp)
}

// fail renders err through the edge (which logs it) with resp's fields.
func fail(w http.ResponseWriter, r *http.Request, resp *Response, err error) {
	edge.Fail(w, r.WithContext(context.WithValue(r.Context(), respKey{}, resp)), err)
}

// answer is the status, code and log of a failure.
func answer(e *fault.Error) (int, int, string) {
	if c, ok := credentialCode(e); ok {
		if c == codeTemplateInvalid && e.Subject == faceauth.SubjectProbeTemplate {
			return 200, c, "The template parameter is not a valid template, or it was altered."
		}
		return 200, c, resultLog[c]
	}
	switch e.Kind {
	case fault.NoFace, fault.MultipleFaces, fault.LowQuality:
		return 200, codeImageNoFace, "The image parameter must show exactly one face: " + e.Summary()
	case fault.Unauthorized:
		return 401, codeUnauthorized, "Unauthorized: send a valid x-api-key"
	case fault.Forbidden:
		return 403, codeUnauthorized, e.Message
	case fault.PayloadTooLarge, fault.ImageTooLarge:
		return 413, codeInvalidRequest, e.Summary()
	case fault.RateLimited:
		return 429, codeUnavailable, e.Message
	case fault.Busy, fault.Unavailable:
		return 503, codeUnavailable, "The service is busy: retry shortly"
	case fault.NotFound:
		return 404, codeInvalidRequest, e.Message
	case fault.MethodNotAllowed:
		return 405, codeInvalidRequest, e.Message
	case fault.Internal, fault.Integrity:
		return 500, codeInternal, "Internal error"
	}
	return 400, codeInvalidRequest, e.Summary()
}

// credentialCode is the code of a template or token refusal.
func credentialCode(e *fault.Error) (int, bool) {
	template := e.Subject == faceauth.SubjectTemplate || e.Subject == faceauth.SubjectProbeTemplate
	token := e.Subject == faceauth.SubjectToken
	switch {
	case template && e.Kind == fault.BadRequest:
		return codeTemplateInvalid, true
	case template && e.Kind == fault.Forbidden:
		return codeTemplateForeign, true
	case template && e.Kind == fault.Unsupported:
		return codeTemplateModel, true
	case token && e.Kind == fault.BadRequest:
		return codeTokenInvalid, true
	case token && e.Kind == fault.Expired:
		return codeTokenExpired, true
	case token && e.Kind == fault.Closed:
		return codeTokenUsed, true
	case token && (e.Kind == fault.Forbidden || e.Kind == fault.Unsupported):
		return codeTokenInvalid, true
	}
	return 0, false
}
