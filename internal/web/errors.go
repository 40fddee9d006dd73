package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
)

// Code is a stable error code of the capture endpoints (the same spelling
// as the native API's codes where they overlap).
type Code string

// The error codes and, in statusOf, their HTTP status.
const (
	CodeBadRequest       Code = "bad_request"
	CodeMissingField     Code = "missing_field"
	CodeEmptyImage       Code = "empty_image"
	CodeInvalidImage     Code = "invalid_image"
	CodeUnsupportedImage Code = "unsupported_image_format"
	CodeImageTooLarge    Code = "image_too_large"
	CodePayloadTooLarge  Code = "payload_too_large"
	CodeNotFound         Code = "not_found"
	CodeExpired          Code = "expired"
	CodeClosed           Code = "capture_closed"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeBusy             Code = "engine_busy"
	CodeInternal         Code = "internal_error"
)

var statusOf = map[Code]int{
	CodeBadRequest: 400, CodeMissingField: 400, CodeEmptyImage: 400, CodeInvalidImage: 400,
	CodeUnsupportedImage: 415, CodeImageTooLarge: 413, CodePayloadTooLarge: 413,
	CodeNotFound: 404, CodeExpired: 410, CodeClosed: 409, CodeMethodNotAllowed: 405,
	CodeBusy: 503, CodeInternal: 500,
}

// httpError is an error with its code, made by the handlers themselves.
type httpError struct {
	code Code
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errCode(code Code, msg string) error { return &httpError{code: code, msg: msg} }
func errNotFound(msg string) error        { return errCode(CodeNotFound, msg) }

type envelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// classify maps any error to a code and a client-safe message.
func classify(err error) (Code, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.code, he.msg
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return CodePayloadTooLarge, "request body too large"
	}
	sentinels := []struct {
		err  error
		code Code
		msg  string // "" = the error's own text
	}{
		{faceauth.ErrCaptureNotFound, CodeNotFound, "no such capture session"},
		{faceauth.ErrCaptureExpired, CodeExpired, "this capture session has expired"},
		{faceauth.ErrCaptureClosed, CodeClosed, "this capture session is already finished"},
		{faceauth.ErrInvalidInput, CodeBadRequest, ""},
		{faceauth.ErrBusy, CodeBusy, "the server is busy; try again"},
		{context.DeadlineExceeded, CodeBusy, "the server is busy; try again"},
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			if s.msg == "" {
				return s.code, err.Error()
			}
			return s.code, s.msg
		}
	}
	switch face.ErrorCode(err) {
	case face.CodeEmptyImage:
		return CodeEmptyImage, err.Error()
	case face.CodeUnsupported:
		return CodeUnsupportedImage, err.Error()
	case face.CodeImageTooLarge:
		return CodeImageTooLarge, err.Error()
	case face.CodeInvalidImage:
		return CodeInvalidImage, err.Error()
	}
	return CodeInternal, "internal error" // details go to the log, not the client
}

// statusFor is the HTTP status of an error.
func statusFor(err error) (int, Code, string) {
	code, msg := classify(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return status, code, msg
}

// writeError sends the JSON error envelope; server-side failures are
// logged.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := statusFor(err)
	if status >= 500 {
		level := slog.LevelError
		if code == CodeBusy {
			level = slog.LevelWarn
		}
		h.log.Log(r.Context(), level, "capture request failed", "method", r.Method,
			"path", redactPath(r.URL.Path), "code", code, "err", err)
	}
	if code == CodeBusy {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, envelope{Error: errorBody{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// redactPath shortens the token in a capture path for logs.
func redactPath(p string) string {
	const pre = Prefix
	if len(p) <= len(pre) || p[:len(pre)] != pre {
		return p
	}
	rest := p[len(pre):]
	tok, tail := rest, ""
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			tok, tail = rest[:i], rest[i:]
			break
		}
	}
	if tok == "assets" {
		return p
	}
	return pre + shortToken(tok) + tail
}
