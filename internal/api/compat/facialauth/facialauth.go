// Package facialauth speaks the face-authentication session API (seed
// 001, API key pair over HTTP Basic): check whether a person identified
// before (a scanRef) can authenticate by face, and open a session whose
// token drives Visage's hosted page (or an iFrame), optionally with a
// six-digit code for another device. The result comes by the
// facialAuthentication webhook and from the session's status. It adapts
// words and shapes only; the sessions are the face service's, the
// identifications the verification service's. docs/compat.md records the
// choices the document leaves open.
package facialauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/tenancy"
)

// Paths of the surface: the seed's two, and Visage's status query.
const (
	pathCheckStatus     = "GET /identification/facial-auth/{scanRef}/check-status/{$}"
	pathCheckStatusBare = "GET /identification/facial-auth/{scanRef}/check-status"
	pathCreate          = "POST /partner/authentication-info"
	pathStatus          = "POST /partner/authentication-status"
)

// The seed's words.
const (
	typeAuthentication = "AUTHENTICATION"
	typeIdentification = "IDENTIFICATION"
	methodFaceMatching = "FACE_MATCHING"
	maxLifetime        = 30 * 24 * 60 * 60 // seconds
)

// Handler serves the surface.
type Handler struct {
	faces *faceauth.Service
	cases *kyc.Service
}

// New builds the handler.
func New(faces *faceauth.Service, cases *kyc.Service) *Handler {
	return &Handler{faces: faces, cases: cases}
}

// Surface is the adapter on the request edge.
func (h *Handler) Surface() edge.Surface {
	return edge.Surface{Name: "facialauth", Renderer: renderer{}, Prefixes: []string{"/identification/", "/partner/"},
		Routes: []edge.Route{
			{Pattern: pathCheckStatus, Handler: h.checkStatus, Auth: edge.Required},
			{Pattern: pathCheckStatusBare, Handler: h.checkStatus, Auth: edge.Required},
			{Pattern: pathCreate, Handler: h.create, Auth: edge.Required, Scope: tenancy.ScopeEnrol},
			{Pattern: pathStatus, Handler: h.status, Auth: edge.Required},
		}}
}

func tenant(r *http.Request) faceauth.Tenant {
	return faceauth.TenantOf(edge.PrincipalOf(r.Context()).Integration)
}

func kindOf(sub *kyc.AuthSubject) string {
	if sub.Kind == kyc.AuthByFace {
		return typeAuthentication
	}
	return typeIdentification
}

func checkMethod(m string) error {
	if m != "" && m != methodFaceMatching {
		return fault.New(fault.BadRequest, "method must be FACE_MATCHING")
	}
	return nil
}

// checkStatus: AUTHENTICATION or IDENTIFICATION for a scanRef; 404 when
// it names nothing.
func (h *Handler) checkStatus(w http.ResponseWriter, r *http.Request) {
	if err := checkMethod(r.URL.Query().Get("method")); err != nil {
		edge.Fail(w, r, err)
		return
	}
	sub, err := h.cases.ResolveAuthSubject(r.Context(), tenant(r), r.PathValue("scanRef"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, map[string]string{"type": kindOf(sub)})
}

// createRequest is the seed's body.
type createRequest struct {
	ScanRef             string          `json:"scanRef"`
	Type                string          `json:"type"`
	Method              string          `json:"method"`
	Lifetime            json.RawMessage `json:"lifetime"`
	Locale              string          `json:"locale"`
	GenerateDigitString bool            `json:"generateDigitString"`
}

// create: POST /partner/authentication-info → an authToken for the hosted
// page, iFrame or SDK, and a digitString when asked.
func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := edge.DecodeJSON(r, &req, false); err != nil {
		edge.Fail(w, r, err)
		return
	}
	lifetime, err := parseLifetime(req.Lifetime)
	if err == nil {
		err = validateCreate(req)
	}
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	t := tenant(r)
	sub, err := h.cases.ResolveAuthSubject(r.Context(), t, req.ScanRef)
	if err == nil && sub.Kind != kyc.AuthByFace {
		err = fault.New(fault.NotEnrolled, "this person must first complete an identification (type IDENTIFICATION)")
	}
	var faceID string
	if err == nil {
		faceID, err = h.cases.EnsureAuthFace(r.Context(), t, sub)
	}
	var st *faceauth.AuthSessionStart
	if err == nil {
		st, err = h.faces.StartAuthSession(r.Context(), t, faceID, faceauth.AuthSessionOptions{
			TTL: time.Duration(lifetime) * time.Second, Locale: strings.ToLower(req.Locale), DigitCode: req.GenerateDigitString, Subject: req.ScanRef})
	}
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	out := map[string]any{"authToken": st.Token, "authSessionId": st.ID, "scanRef": req.ScanRef, "type": typeAuthentication, "method": methodFaceMatching,
		"url": st.URL, "expiresAt": st.ExpiresAt.Format(time.RFC3339)}
	if req.GenerateDigitString {
		out["digitString"] = st.DigitCode
	}
	edge.WriteJSON(w, 201, out)
}

func validateCreate(req createRequest) error {
	switch {
	case req.ScanRef == "":
		return fault.New(fault.MissingField, "scanRef is required")
	case req.Type != "" && req.Type != typeAuthentication:
		return fault.New(fault.BadRequest, "type must be AUTHENTICATION")
	}
	return checkMethod(req.Method)
}

// parseLifetime is the session's lifetime in seconds: 1800 by default,
// 1 to 30 days' worth.
func parseLifetime(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 1800, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, fault.New(fault.BadRequest, "lifetime must be a number of seconds")
		}
		n = json.Number(s)
	}
	v, err := strconv.Atoi(n.String())
	if err != nil || v < 1 || v > maxLifetime {
		return 0, fault.New(fault.BadRequest, "lifetime must be 1 to %d seconds (30 days)", maxLifetime)
	}
	return v, nil
}

// status: POST /partner/authentication-status {"authToken"} → where a
// session stands (the token stays out of URLs and logs).
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AuthToken string `json:"authToken"`
	}
	if err := edge.DecodeJSON(r, &req, false); err != nil {
		edge.Fail(w, r, err)
		return
	}
	if req.AuthToken == "" {
		edge.Fail(w, r, fault.New(fault.MissingField, "authToken is required"))
		return
	}
	st, err := h.faces.AuthSessionStatus(r.Context(), tenant(r).ID, req.AuthToken)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	out := map[string]any{"scanRef": st.Subject, "type": typeAuthentication, "method": methodFaceMatching,
		"status": statusOf(st.Status), "reason": nullable(st.Reason), "attempts": st.Attempts, "maxAttempts": st.MaxAttempts,
		"expiresAt": st.ExpiresAt.Format(time.RFC3339)}
	if st.Last != nil {
		out["similarity"], out["liveness"] = st.Last.Similarity, st.Last.Liveness
	}
	edge.WriteJSON(w, 200, out)
}

// statusOf is a session status in the vendor's words.
func statusOf(s string) string {
	switch s {
	case faceauth.CaptureCompleted:
		return "APPROVED"
	case faceauth.CaptureFailed:
		return "DENIED"
	case faceauth.CaptureExpired:
		return "EXPIRED"
	}
	return "ACTIVE"
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
