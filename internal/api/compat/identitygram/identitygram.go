// Package identitygram speaks the Identity Gram face-authentication API
// ("Face Authentication API": get-2fa-url, store images against a face,
// verify 2FA) over the native services, so its clients can switch by
// changing the base URL. It adapts shapes and errors only; the logic is
// faceauth's.
package identitygram

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/tenancy"
)

// Authenticator resolves a request's credentials (Bearer JWT, x-api-key…).
type Authenticator func(r *http.Request) (*tenancy.Principal, error)

// Handler serves the /v2/verification endpoints.
type Handler struct {
	auth     Authenticator
	faces    *faceauth.Service
	maxImage int64
	log      *slog.Logger
}

// New builds the handler.
func New(auth Authenticator, faces *faceauth.Service, maxImageBytes int64, log *slog.Logger) *Handler {
	return &Handler{auth: auth, faces: faces, maxImage: maxImageBytes, log: log}
}

// Routes lists pattern → handler; the caller mounts them with its own
// logging, metrics and body limits. The vendor document names no path for
// storing images; store-images follows its naming (docs/compat.md).
func (h *Handler) Routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /v2/verification/get-2fa-url":  h.authed(h.get2FAURL),
		"POST /v2/verification/store-images": h.authed(h.storeImages),
		"POST /v2/verification/verify-2fa":   h.authed(h.verify2FA),
	}
}

// nestError is the vendor's error body (a NestJS HttpException).
type nestError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, nestError{StatusCode: status, Message: msg, Error: http.StatusText(status)})
}

// failParse answers an unreadable body: 413 when over the size limit.
func failParse(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		fail(w, 413, "Payload Too Large")
		return
	}
	fail(w, 400, err.Error())
}

// envelope is the vendor's success body.
type envelope struct {
	Message string `json:"message"`
	Data    any    `json:"data"`
	Errors  any    `json:"errors"`
}

type ctxHandler func(w http.ResponseWriter, r *http.Request, p *tenancy.Principal)

func (h *Handler) authed(next ctxHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.auth(r)
		if err != nil {
			if errors.Is(err, tenancy.ErrUnauthorized) {
				writeJSON(w, 401, nestError{StatusCode: 401, Message: "Unauthorized"})
				return
			}
			h.serverError(w, r, err)
			return
		}
		next(w, r, p)
	}
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "identitygram request failed", "err", err)
	fail(w, 500, "Internal server error")
}

// form is a request's fields and files, from JSON or multipart.
type form struct {
	fields map[string]string
	files  map[string][][]byte
}

func (h *Handler) parse(r *http.Request) (*form, error) {
	f := &form{fields: map[string]string{}, files: map[string][][]byte{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, err
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return f, nil
			}
			if err != nil {
				return nil, err
			}
			data, err := io.ReadAll(io.LimitReader(part, h.maxImage+1))
			if err != nil {
				return nil, err
			}
			if int64(len(data)) > h.maxImage {
				return nil, &http.MaxBytesError{Limit: h.maxImage}
			}
			if part.FileName() != "" {
				f.files[part.FormName()] = append(f.files[part.FormName()], data)
			} else {
				f.fields[part.FormName()] = strings.TrimSpace(string(data))
			}
		}
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil && err != io.EOF {
		return nil, fmt.Errorf("malformed JSON body: %v", err)
	}
	for k, v := range body {
		if s, ok := v.(string); ok {
			f.fields[k] = strings.TrimSpace(s)
		}
	}
	return f, nil
}

// tenant checks that integrationId or publicKey in the body names the
// caller's own integration.
func tenant(f *form, p *tenancy.Principal) (faceauth.Tenant, string) {
	in := p.Integration
	id, pk := f.fields["integrationId"], f.fields["publicKey"]
	switch {
	case id == "" && pk == "":
		return faceauth.Tenant{}, "missing"
	case id != "" && id != in.ID, pk != "" && pk != in.PublicKey:
		return faceauth.Tenant{}, "unauthorized"
	}
	return faceauth.Tenant{ID: in.ID, Policy: in.Policy}, ""
}

// igFace is the vendor's face object.
type igFace struct {
	ID            string    `json:"_id"`
	IntegrationID string    `json:"integrationId"`
	FaceID        string    `json:"faceId"`
	Images        []igImage `json:"images"`
	Enabled       bool      `json:"enabled"`
}

type igImage struct {
	URL  string `json:"url"`
	Type string `json:"type"`
	ID   string `json:"_id"`
}

func (h *Handler) faceOf(integrationID string, v *faceauth.FaceView) igFace {
	out := igFace{ID: v.ID, IntegrationID: integrationID, FaceID: v.FaceID, Enabled: v.Enabled, Images: []igImage{}}
	for _, im := range v.Images {
		out.Images = append(out.Images, igImage{ID: im.ID, Type: im.Challenge, URL: h.faces.ImageURL(v.FaceID, im.ID)})
	}
	return out
}

// userRequest parses a request naming an integration and a user
// (uniqueIdentifier), optionally with exactly one image, and answers the
// vendor's 400/401 itself when something is missing or foreign.
func (h *Handler) userRequest(w http.ResponseWriter, r *http.Request, p *tenancy.Principal, image bool) (*form, faceauth.Tenant, string, bool) {
	f, err := h.parse(r)
	if err != nil {
		failParse(w, err)
		return nil, faceauth.Tenant{}, "", false
	}
	t, msg := tenant(f, p)
	if msg == "unauthorized" {
		writeJSON(w, 401, nestError{StatusCode: 401, Message: "Unauthorized"})
		return nil, t, "", false
	}
	uid := f.fields["uniqueIdentifier"]
	if msg != "" || uid == "" {
		msg = "integrationId and uniqueIdentifier are required" // the vendor's wording
	}
	if msg == "" && image && len(f.files["image"]) != 1 {
		msg = "one image is required"
	}
	if msg != "" {
		fail(w, 400, msg)
		return nil, t, "", false
	}
	return f, t, uid, true
}

func (h *Handler) get2FAURL(w http.ResponseWriter, r *http.Request, p *tenancy.Principal) {
	_, t, uid, ok := h.userRequest(w, r, p, false)
	if !ok {
		return
	}
	start, err := h.faces.Start2FA(r.Context(), t, uid, 0)
	if errors.Is(err, faceauth.ErrInvalidInput) {
		fail(w, 400, err.Error())
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	face := h.faceOf(t.ID, start.Face)
	if start.Registered {
		writeJSON(w, 200, envelope{Message: "Face already registered",
			Data: map[string]any{"success": false, "message": "Face already registered", "face": face}})
		return
	}
	const done = "Face registration URL generated successfully"
	writeJSON(w, 200, envelope{Message: done,
		Data: map[string]any{"success": true, "message": done, "url": start.URL, "newFace": face}})
}

// Image field names per challenge (the vendor's four capture types).
var challengeFields = map[faceauth.Challenge][]string{
	faceauth.ChallengeSmile:    {"smile", "2fa-smile"},
	faceauth.ChallengeEyeBlink: {"eyeblink", "eyeBlink", "2fa-eyeblink"},
	faceauth.ChallengeLeft:     {"left", "2fa-left"},
	faceauth.ChallengeRight:    {"right", "2fa-right"},
}

func (h *Handler) storeImages(w http.ResponseWriter, r *http.Request, p *tenancy.Principal) {
	f, err := h.parse(r)
	if err != nil {
		failParse(w, err)
		return
	}
	faceRef := f.fields["faceId"]
	if faceRef == "" {
		fail(w, 400, "faceId is required")
		return
	}
	imgs := map[faceauth.Challenge][]faceauth.Image{}
	for c, names := range challengeFields {
		for _, n := range names {
			for _, data := range f.files[n] {
				imgs[c] = append(imgs[c], faceauth.Image{Data: data, Name: n, Challenge: string(c)})
			}
		}
	}
	in := p.Integration
	v, err := h.faces.StoreImages(r.Context(), faceauth.Tenant{ID: in.ID, Policy: in.Policy}, faceRef, imgs)
	if err != nil {
		h.faceError(w, r, err)
		return
	}
	writeJSON(w, 200, envelope{Message: "Images stored successfully",
		Data: map[string]any{"success": true, "message": "Images stored successfully", "face": h.faceOf(in.ID, v)}})
}

func (h *Handler) verify2FA(w http.ResponseWriter, r *http.Request, p *tenancy.Principal) {
	f, t, uid, ok := h.userRequest(w, r, p, true)
	if !ok {
		return
	}
	v, err := h.faces.Verify(r.Context(), t, uid, faceauth.Image{Data: f.files["image"][0], Name: "image"})
	if err != nil {
		h.faceError(w, r, err)
		return
	}
	data := map[string]any{"success": true, "verified": v.Verified, "similarity": v.Score, "faceId": uid}
	switch {
	case v.Verified:
		data["message"] = "Face verified successfully"
		writeJSON(w, 200, envelope{Message: "Face verified successfully", Data: data})
		return
	case !v.Match:
		data["message"] = "Face does not match"
	default:
		data["message"] = "Liveness check failed"
	}
	writeJSON(w, 200, envelope{Message: "Face verification failed", Data: data})
}

// faceError maps service errors onto the vendor's status codes.
func (h *Handler) faceError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, faceauth.ErrFaceNotEnrolled):
		fail(w, 404, "Face not enrolled for this user")
	case errors.Is(err, faceauth.ErrFaceDisabled):
		fail(w, 403, "Face is disabled for this user")
	case errors.Is(err, faceauth.ErrAlreadyEnrolled):
		fail(w, 409, "Face already registered")
	case errors.Is(err, face.ErrNoFace):
		fail(w, 400, "No face found in the image")
	case errors.Is(err, face.ErrMultipleFaces):
		fail(w, 400, "More than one face found in the image")
	case errors.Is(err, faceauth.ErrInvalidInput), errors.Is(err, faceauth.ErrChallengeNotMet):
		fail(w, 400, err.Error())
	case face.ErrorCode(err) != face.CodeInternal:
		fail(w, 400, "Invalid image: "+err.Error())
	default:
		h.serverError(w, r, err)
	}
}
