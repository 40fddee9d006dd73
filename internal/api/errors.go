// Package api is Visage's native HTTP API (/v1) and the assembly of every
// surface on the request edge: routes, the native error rendering, OpenAPI.
package api

import (
	"net/http"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// Code is a stable error code of the native API. docs/errors.md lists them
// all; clients branch on the code, never on the message.
type Code string

// statusCode is the HTTP status and native code of a failure.
type statusCode struct {
	status int
	code   Code
}

// status and code of each fault kind: the one table of the native API.
var codes = map[fault.Kind]statusCode{
	fault.Internal:         {500, "internal_error"},
	fault.BadRequest:       {400, "bad_request"},
	fault.MissingField:     {400, "missing_field"},
	fault.MalformedBody:    {400, "invalid_json"},
	fault.InvalidImage:     {400, "invalid_image"},
	fault.EmptyImage:       {400, "empty_image"},
	fault.Unsupported:      {415, "unsupported_image_format"},
	fault.ImageTooLarge:    {413, "image_too_large"},
	fault.PayloadTooLarge:  {413, "payload_too_large"},
	fault.NoFace:           {422, "no_face_found"},
	fault.MultipleFaces:    {422, "multiple_faces"},
	fault.LowQuality:       {422, "low_quality"},
	fault.Spoof:            {422, "spoof_suspected"},
	fault.FacesDiffer:      {422, "faces_differ"},
	fault.ChallengeNotMet:  {422, "challenge_not_met"},
	fault.NotEnrolled:      {404, "face_not_enrolled"},
	fault.AlreadyEnrolled:  {409, "face_already_enrolled"},
	fault.Duplicate:        {409, "duplicate_face"},
	fault.Disabled:         {403, "face_disabled"},
	fault.Locked:           {423, "face_locked"},
	fault.Conflict:         {409, "conflict"},
	fault.NotFound:         {404, "not_found"},
	fault.Expired:          {410, "expired"},
	fault.Gone:             {410, "gone"},
	fault.InvalidVideo:     {400, "invalid_video"},
	fault.Closed:           {409, "capture_closed"},
	fault.Unauthorized:     {401, "unauthorized"},
	fault.Forbidden:        {403, "forbidden"},
	fault.MethodNotAllowed: {405, "method_not_allowed"},
	fault.RateLimited:      {429, "rate_limited"},
	fault.Busy:             {503, "engine_busy"},
	fault.Unavailable:      {503, "unavailable"},
	fault.Integrity:        {500, "template_integrity"},
}

// ErrorCode is the native code of an error (internal_error when it is
// not classified), for surfaces that print codes without HTTP (the CLI).
func ErrorCode(err error) Code {
	if c, ok := codes[fault.KindOf(err)]; ok {
		return c.code
	}
	return codes[fault.Internal].code
}

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

// problem is one failing image in details.problems.
type problem struct {
	Index   int      `json:"image_index"`
	Image   string   `json:"image,omitempty"`
	Code    Code     `json:"code"`
	Message string   `json:"message"`
	Reasons []string `json:"reasons,omitempty"`
}

// renderer renders faults in the native envelope.
type renderer struct{}

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	c, ok := codes[e.Kind]
	if !ok {
		c = codes[fault.Internal]
	}
	if cc, ok := credentialCodes[credentialFault{e.Kind, e.Subject}]; ok {
		c = cc
	}
	switch e.Kind {
	case fault.Unauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="visage"`)
	case fault.Busy, fault.Unavailable:
		w.Header().Set("Retry-After", "1")
	}
	edge.WriteJSON(w, c.status, envelope{Error: errorBody{Code: c.code, Message: e.Message,
		RequestID: edge.RequestID(r.Context()), Details: details(e)}})
}

// details names the failing images: for one, its index, field and quality
// reasons at the top (as before problems were listed); always the list.
func details(e *fault.Error) any {
	d := map[string]any{}
	switch {
	case credentialSubjects[e.Subject]:
		d["field"] = e.Subject
	case e.Subject != "":
		d["face_id"] = e.Subject
	}
	if len(e.Problems) > 0 {
		ps := make([]problem, len(e.Problems))
		for i, p := range e.Problems {
			ps[i] = problem{Index: p.Index, Image: p.Name, Code: codes[p.Kind].code, Message: p.Message, Reasons: p.Reasons}
		}
		d["problems"] = ps
		first := e.Problems[0]
		d["image_index"] = first.Index
		if first.Name != "" {
			d["image"] = first.Name
		}
		if len(first.Reasons) > 0 {
			d["reasons"] = first.Reasons
		}
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

// credentialFault is a failure of a portable template or best-image
// token the client sent: its kind alone would name an image or a capture
// problem, so these get codes of their own.
type credentialFault struct {
	kind    fault.Kind
	subject string
}

var credentialSubjects = map[string]bool{faceauth.SubjectTemplate: true, faceauth.SubjectProbeTemplate: true, faceauth.SubjectToken: true}

var credentialCodes = func() map[credentialFault]statusCode {
	m := map[credentialFault]statusCode{}
	for sub := range credentialSubjects {
		m[credentialFault{fault.BadRequest, sub}] = statusCode{400, "credential_invalid"}
		m[credentialFault{fault.Forbidden, sub}] = statusCode{403, "credential_foreign"}
		m[credentialFault{fault.Unsupported, sub}] = statusCode{422, "credential_model_mismatch"}
	}
	m[credentialFault{fault.Expired, faceauth.SubjectToken}] = statusCode{410, "token_expired"}
	m[credentialFault{fault.Closed, faceauth.SubjectToken}] = statusCode{409, "token_used"}
	return m
}()
