// Package api is Visage's native HTTP API (/v1): routing, authentication,
// rate limiting, uploads, the one error model, metrics and health.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

// Code is a stable error code. docs/errors.md lists them all; clients
// branch on the code, never on the message.
type Code string

// The error codes and, in statusOf, their HTTP status: the one place the
// mapping lives.
const (
	CodeBadRequest        Code = "bad_request"
	CodeInvalidJSON       Code = "invalid_json"
	CodeMissingField      Code = "missing_field"
	CodeInvalidImage      Code = "invalid_image"
	CodeEmptyImage        Code = "empty_image"
	CodeUnsupportedImage  Code = "unsupported_image_format"
	CodeImageTooLarge     Code = "image_too_large"
	CodePayloadTooLarge   Code = "payload_too_large"
	CodeNoFace            Code = "no_face_found"
	CodeMultipleFaces     Code = "multiple_faces"
	CodeLowQuality        Code = "low_quality"
	CodeSpoofSuspected    Code = "spoof_suspected"
	CodeFacesDiffer       Code = "faces_differ"
	CodeFaceNotEnrolled   Code = "face_not_enrolled"
	CodeAlreadyEnrolled   Code = "face_already_enrolled"
	CodeFaceDisabled      Code = "face_disabled"
	CodeUnauthorized      Code = "unauthorized"
	CodeNotFound          Code = "not_found"
	CodeMethodNotAllowed  Code = "method_not_allowed"
	CodeRateLimited       Code = "rate_limited"
	CodeBusy              Code = "engine_busy"
	CodeTemplateIntegrity Code = "template_integrity"
	CodeUnavailable       Code = "unavailable"
	CodeInternal          Code = "internal_error"
)

var statusOf = map[Code]int{
	CodeBadRequest: 400, CodeInvalidJSON: 400, CodeMissingField: 400,
	CodeInvalidImage: 400, CodeEmptyImage: 400, CodeUnsupportedImage: 415,
	CodeImageTooLarge: 413, CodePayloadTooLarge: 413,
	CodeNoFace: 422, CodeMultipleFaces: 422, CodeLowQuality: 422, CodeSpoofSuspected: 422, CodeFacesDiffer: 422,
	CodeFaceNotEnrolled: 404, CodeNotFound: 404, CodeAlreadyEnrolled: 409, CodeFaceDisabled: 403,
	CodeUnauthorized: 401, CodeMethodNotAllowed: 405, CodeRateLimited: 429, CodeBusy: 503,
	CodeTemplateIntegrity: 500, CodeUnavailable: 503, CodeInternal: 500,
}

// Error is an API error with its code; handlers return it (or any error,
// which classify maps).
type Error struct {
	Code    Code
	Message string
	Details any
	err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.err }

func apiErr(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// envelope is the one error body: {"error":{"code","message","request_id"}}.
type envelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Details   any    `json:"details,omitempty"`
}

// classify turns any error into an API error.
func classify(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	e := &Error{Code: codeOf(err), Message: err.Error(), err: err}
	var ie *faceauth.ImageError
	if errors.As(err, &ie) {
		d := map[string]any{"image_index": ie.Index}
		if ie.Name != "" {
			d["image"] = ie.Name
		}
		if len(ie.Reasons) > 0 {
			d["reasons"] = ie.Reasons
		}
		e.Details = d
	}
	if e.Code == CodeInternal {
		e.Message = "internal error" // details go to the log, not the client
	}
	return e
}

func codeOf(err error) Code {
	sentinels := []struct {
		err  error
		code Code
	}{
		{faceauth.ErrFaceNotEnrolled, CodeFaceNotEnrolled},
		{faceauth.ErrAlreadyEnrolled, CodeAlreadyEnrolled},
		{faceauth.ErrFaceDisabled, CodeFaceDisabled},
		{faceauth.ErrInvalidInput, CodeBadRequest},
		{faceauth.ErrLowQuality, CodeLowQuality},
		{faceauth.ErrSpoofSuspected, CodeSpoofSuspected},
		{faceauth.ErrFacesDiffer, CodeFacesDiffer},
		{faceauth.ErrTemplateIntegrity, CodeTemplateIntegrity},
		{faceauth.ErrBusy, CodeBusy},
		{tenancy.ErrUnauthorized, CodeUnauthorized},
		{store.ErrNotFound, CodeNotFound},
		{context.DeadlineExceeded, CodeBusy},
		{face.ErrClosed, CodeUnavailable},
		{context.Canceled, CodeUnavailable}, // client gone, or the server shutting down
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.code
		}
	}
	switch face.ErrorCode(err) {
	case face.CodeNoFace:
		return CodeNoFace
	case face.CodeMultipleFaces:
		return CodeMultipleFaces
	case face.CodeEmptyImage:
		return CodeEmptyImage
	case face.CodeUnsupported:
		return CodeUnsupportedImage
	case face.CodeImageTooLarge:
		return CodeImageTooLarge
	case face.CodeInvalidImage:
		return CodeInvalidImage
	}
	return CodeInternal
}

// writeError sends the error envelope and logs server-side failures.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	status := statusOf[e.Code]
	if status == 0 {
		status = 500
	}
	switch {
	case status == 503: // overload and shutdown are expected, not faults
		slog.WarnContext(r.Context(), "request refused", "code", e.Code, "err", err)
	case status >= 500:
		slog.ErrorContext(r.Context(), "request failed", "code", e.Code, "err", err)
	}
	if e.Code == CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="visage"`)
	}
	writeJSON(w, status, envelope{Error: errorBody{Code: e.Code, Message: e.Message, RequestID: requestID(r.Context()), Details: e.Details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
