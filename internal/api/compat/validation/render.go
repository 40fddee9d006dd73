package validation

import (
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/fault"
)

// Failure is the error body: the seed's error table gives a message and a
// numeric code per row and no shape, so both are the body.
type Failure struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// The seed's numbered codes.
const (
	codeCompleted  = 120036
	codeAttempts   = 120037
	codeFaceImage  = 120038
	codePlatform   = 120029 // "Graphql error": Visage's internal errors
	codeCalculated = 120039 // profile search, quality, liveness failed
	codeClosed     = 120040
	codeDocType    = 120041
	codeFaceNeeded = 120042
	codeProfile    = 120043
	codeEndeavor   = 120044
)

// Visage's own codes, for what the seed's table does not cover: 129000
// plus the HTTP status.
const (
	codeInvalidRequest  = 129400
	codeUnauthorized    = 129401
	codeForbidden       = 129403
	codeNotFound        = 129404
	codeMethod          = 129405
	codeConflict        = 129409
	codeTooLarge        = 129413
	codeTooManyRequests = 129429
	codeBusy            = 129503
)

type applicantKey struct{}

type renderer struct{}

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	id, _ := r.Context().Value(applicantKey{}).(string)
	status, code, msg := answer(e, id)
	if status == 429 || status == 503 {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	edge.WriteJSON(w, status, Failure{Message: msg, Code: code})
}

// answer is the status, code and message of a failure: the seed's row
// where one fits, else Visage's own.
func answer(e *fault.Error, id string) (int, int, string) {
	server := func(kind fault.Kind) int {
		if kind == fault.Internal || kind == fault.Integrity {
			return 500
		}
		return 503
	}
	switch e.Subject {
	case applicant.SubjectCompleted:
		return 400, codeCompleted, `Request "` + id + `" was already completed`
	case applicant.SubjectAttempts:
		return 400, codeAttempts, `All available attempts were used for requestId "` + id + `"`
	case applicant.SubjectClosed:
		return 400, codeClosed, "Request is closed"
	case applicant.SubjectDocumentType:
		return 400, codeDocType, "This document type is not supported"
	case applicant.SubjectNoProfile:
		return 400, codeProfile, "Applicant doesn't have verified face"
	case applicant.SubjectProfileMissing:
		return 400, codeProfile, "Applicant profile not found"
	case applicant.SubjectEndeavor:
		return 400, codeEndeavor, "Invalid endeavor info"
	case applicant.SubjectSearch:
		return server(e.Kind), codeCalculated, "Profile search is missing"
	case applicant.SubjectQuality:
		return server(e.Kind), codeCalculated, "Quality calculation failed"
	case applicant.SubjectLiveness:
		return server(e.Kind), codeCalculated, "Liveness calculation failed"
	case applicant.SubjectFaceImage:
		return faceImage(e)
	}
	if strings.HasPrefix(e.Message, fieldFace) { // the edge could not decode it
		return 400, codeFaceImage, "Face image is invalid: " + e.Message
	}
	switch e.Kind {
	case fault.Internal, fault.Integrity:
		return 500, codePlatform, `Graphql error: "internal error"`
	case fault.Busy, fault.Unavailable:
		return 503, codeBusy, "The service is busy: retry shortly"
	case fault.RateLimited:
		return 429, codeTooManyRequests, e.Message
	case fault.Unauthorized:
		return 401, codeUnauthorized, "Unauthorized: send a valid x-api-key"
	case fault.Forbidden:
		return 403, codeForbidden, e.Message
	case fault.NotFound:
		if id != "" {
			return 404, codeNotFound, `Applicant "` + id + `" not found`
		}
		return 404, codeNotFound, e.Message
	case fault.MethodNotAllowed:
		return 405, codeMethod, e.Message
	case fault.Conflict:
		return 409, codeConflict, e.Message
	case fault.PayloadTooLarge, fault.ImageTooLarge:
		return 413, codeTooLarge, e.Summary()
	}
	return 400, codeInvalidRequest, e.Summary()
}

// faceImage is the seed's rows about the selfie.
func faceImage(e *fault.Error) (int, int, string) {
	switch e.Kind {
	case fault.MissingField:
		return 400, codeFaceNeeded, "Face image is required"
	case fault.EmptyImage:
		return 400, codeFaceImage, "Face image is empty"
	case fault.NoFace:
		return 400, codeFaceImage, "No faces found"
	case fault.MultipleFaces:
		return 400, codeFaceImage, "Multiple faces found"
	case fault.ImageTooLarge:
		return 413, codeTooLarge, "Face image is too large: " + e.Summary()
	}
	return 400, codeFaceImage, "Face image is invalid: " + e.Summary()
}
