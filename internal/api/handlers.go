package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

func (s *Server) tenant(r *http.Request) faceauth.Tenant {
	in := principal(r.Context()).Integration
	return faceauth.Tenant{ID: in.ID, Policy: in.Policy}
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	tok, exp, err := s.tenancy.IssueJWT(r.Context(), principal(r.Context()))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(time.Until(exp).Seconds()), "expires_at": exp.UTC().Format(time.RFC3339)})
}

// enrol: POST /v1/faces with face_id and one or more images.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	u, err := s.parseUpload(r, "image", "images")
	if err != nil {
		writeError(w, r, err)
		return
	}
	faceID := u.field("face_id")
	if faceID == "" {
		writeError(w, r, apiErr(CodeMissingField, "face_id is required"))
		return
	}
	opt, err := enrolOptions(u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := s.faces.Enrol(r.Context(), s.tenant(r), faceID, u.imagesFor("image", "images"), opt)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/faces/"+url.PathEscape(v.FaceID))
	writeJSON(w, 201, v)
}

func enrolOptions(u *upload) (faceauth.EnrolOptions, error) {
	var opt faceauth.EnrolOptions
	if m, ok := u.raw["metadata"]; ok {
		opt.Metadata = m
	} else if m := u.field("metadata"); m != "" {
		if !json.Valid([]byte(m)) {
			return opt, apiErr(CodeInvalidJSON, "metadata must be JSON")
		}
		opt.Metadata = json.RawMessage(m)
	}
	if v := u.field("skip_liveness"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opt, apiErr(CodeBadRequest, "skip_liveness must be true or false")
		}
		opt.SkipLiveness = b
	}
	return opt, nil
}

func (s *Server) addImages(w http.ResponseWriter, r *http.Request) {
	u, err := s.parseUpload(r, "image", "images")
	if err != nil {
		writeError(w, r, err)
		return
	}
	opt, err := enrolOptions(u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := s.faces.AddImages(r.Context(), s.tenant(r), r.PathValue("faceId"), u.imagesFor("image", "images"), opt)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, v)
}

func (s *Server) listFaces(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, apiErr(CodeBadRequest, "limit must be 1–1000"))
			return
		}
		limit = n
	}
	list, err := s.faces.ListFaces(r.Context(), s.tenant(r).ID, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, list)
}

func (s *Server) getFace(w http.ResponseWriter, r *http.Request) {
	v, err := s.faces.GetFace(r.Context(), s.tenant(r).ID, r.PathValue("faceId"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, v)
}

func (s *Server) patchFace(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, r, bodyErrorOr(err, apiErr(CodeInvalidJSON, "malformed JSON body: "+err.Error())))
		return
	}
	if body.Enabled == nil {
		writeError(w, r, apiErr(CodeMissingField, "enabled is required"))
		return
	}
	v, err := s.faces.SetEnabled(r.Context(), s.tenant(r).ID, r.PathValue("faceId"), *body.Enabled)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, v)
}

func bodyErrorOr(err error, fallback *Error) error {
	if tooLarge(err) {
		return bodyError(err)
	}
	return fallback
}

func (s *Server) deleteFace(w http.ResponseWriter, r *http.Request) {
	if err := s.faces.DeleteFace(r.Context(), s.tenant(r).ID, r.PathValue("faceId")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// oneImage parses a request that carries exactly one image.
func (s *Server) oneImage(w http.ResponseWriter, r *http.Request) (*upload, *faceauth.Image, bool) {
	u, err := s.parseUpload(r, "image")
	if err != nil {
		writeError(w, r, err)
		return nil, nil, false
	}
	imgs := u.imagesFor("image")
	if len(imgs) != 1 {
		writeError(w, r, apiErr(CodeMissingField, "exactly one image is required (field \"image\")"))
		return nil, nil, false
	}
	return u, &imgs[0], true
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	_, img, ok := s.oneImage(w, r)
	if !ok {
		return
	}
	v, err := s.faces.Verify(r.Context(), s.tenant(r), r.PathValue("faceId"), *img)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, v)
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	u, err := s.parseUpload(r, "image_a", "image_b")
	if err != nil {
		writeError(w, r, err)
		return
	}
	a, b := u.imagesFor("image_a"), u.imagesFor("image_b")
	if len(a) != 1 || len(b) != 1 {
		writeError(w, r, apiErr(CodeMissingField, "image_a and image_b are required, one image each"))
		return
	}
	res, err := s.faces.Compare(r.Context(), s.tenant(r), a[0], b[0])
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, res)
}

func (s *Server) detect(w http.ResponseWriter, r *http.Request) {
	_, img, ok := s.oneImage(w, r)
	if !ok {
		return
	}
	res, err := s.faces.Analyze(r.Context(), *img)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, res)
}

func (s *Server) liveness(w http.ResponseWriter, r *http.Request) {
	_, img, ok := s.oneImage(w, r)
	if !ok {
		return
	}
	res, f, err := s.faces.Liveness(r.Context(), s.tenant(r), *img)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, map[string]any{"liveness": res, "box": f.Box, "quality": f.Quality})
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	u, img, ok := s.oneImage(w, r)
	if !ok {
		return
	}
	limit, threshold := 10, 0.0
	var err error
	if v := u.field("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			writeError(w, r, apiErr(CodeBadRequest, "limit must be a positive integer"))
			return
		}
	}
	if v := u.field("threshold"); v != "" {
		if threshold, err = strconv.ParseFloat(v, 64); err != nil || threshold < 0 || threshold > 100 {
			writeError(w, r, apiErr(CodeBadRequest, "threshold must be 0–100"))
			return
		}
	}
	res, err := s.faces.Search(r.Context(), s.tenant(r), *img, limit, threshold)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, res)
}

func (s *Server) faceImage(w http.ResponseWriter, r *http.Request) {
	data, ctype, err := s.faces.ImageData(r.Context(), s.tenant(r).ID, r.PathValue("faceId"), r.PathValue("imageId"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The type was detected from the bytes when stored; nosniff and a
	// sandboxing CSP make sure a browser renders it as nothing but an image.
	if !strings.HasPrefix(ctype, "image/") {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}

// startCapture opens a hosted face-2FA capture session for a face_id
// (created disabled when new) and returns the page URL.
func (s *Server) startCapture(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FaceID     string `json:"face_id"`
		TTLSeconds int    `json:"ttl_seconds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, r, bodyErrorOr(err, apiErr(CodeInvalidJSON, "malformed JSON body: "+err.Error())))
		return
	}
	if body.FaceID == "" {
		writeError(w, r, apiErr(CodeMissingField, "face_id is required"))
		return
	}
	st, err := s.faces.Start2FA(r.Context(), s.tenant(r), body.FaceID, time.Duration(body.TTLSeconds)*time.Second)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if st.Registered {
		writeError(w, r, &Error{Code: CodeAlreadyEnrolled, Message: "face already registered: delete it first to register again", Details: st.Face})
		return
	}
	writeJSON(w, 201, map[string]any{"url": st.URL, "token": st.Token, "face": st.Face})
}

// integrationView is what an integration may read of its own settings.
type integrationView struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name"`
	PublicKey           string              `json:"public_key"`
	CallbackURLTemplate string              `json:"callback_url_template"`
	Theme               json.RawMessage     `json:"theme,omitempty"`
	Policy              map[string]any      `json:"policy"`
	WebhookURLs         map[string][]string `json:"webhook_urls"`
}

func viewIntegration(in *store.Integration) integrationView {
	p := in.Policy
	ch := p.RequiredChallenges
	if ch == nil {
		ch = []string{}
	}
	return integrationView{ID: in.ID, Name: in.Name, PublicKey: in.PublicKey, CallbackURLTemplate: in.CallbackURLTemplate,
		Theme: in.Theme, WebhookURLs: in.WebhookURLs, Policy: map[string]any{
			"match_threshold": p.MatchThreshold, "liveness_threshold": p.LivenessThreshold, "max_attempts": p.MaxAttempts,
			"retention_days": p.RetentionDays, "required_challenges": ch}}
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, viewIntegration(principal(r.Context()).Integration))
}

// patchIntegration changes the caller's own settings: callback URL
// template, hosted-page theme and policy.
func (s *Server) patchIntegration(w http.ResponseWriter, r *http.Request) {
	var body tenancy.Settings
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, r, bodyErrorOr(err, apiErr(CodeInvalidJSON, "malformed JSON body: "+err.Error())))
		return
	}
	in, err := s.tenancy.UpdateSettings(r.Context(), principal(r.Context()).Integration.ID, body)
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, r, apiErr(CodeBadRequest, err.Error()))
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, 200, viewIntegration(in))
}
