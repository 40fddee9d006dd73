package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/api/wire"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// Portable templates and best-image tokens: credentials the client keeps
// and sends back (docs/templates.md). The JSON names
// registeredTemplateRaw and bestImageToken are the ones the
// template-authentication clients already use, so a value moves between
// the native and that surface unchanged.

var (
	templateUpload = &edge.UploadSpec{Images: []string{"image"}, QueryFields: true}
	portableUpload = &edge.UploadSpec{Images: []string{"image"}}
)

func (s *Server) templateRoutes() []edge.Route {
	return []edge.Route{
		{Pattern: "POST /v1/templates", Handler: s.issueTemplate, Auth: edge.Required, Upload: templateUpload},
		{Pattern: "POST /v1/tokens/best-image", Handler: s.issueBestImageToken, Auth: edge.Required, Upload: oneUpload},
		{Pattern: "POST /v1/templates/authenticate", Handler: s.authenticateTemplate, Auth: edge.Required, Upload: portableUpload},
		{Pattern: "POST /v1/tokens/best-image/sessions", Handler: s.startBestImageSession, Auth: edge.Required},
	}
}

// templateBody is an issued template.
type templateBody struct {
	Template  string         `json:"registeredTemplateRaw"`
	UserID    string         `json:"user_id"`
	Model     string         `json:"model"`
	CreatedAt string         `json:"created_at"`
	Liveness  *wire.Liveness `json:"liveness"`
	Quality   *wire.Quality  `json:"quality"`
}

// issueTemplate: POST /v1/templates with user_id and an image (a new
// template of that face), or face_id alone (an enrolled face's template).
func (s *Server) issueTemplate(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	imgs := u.ImagesFor("image")
	var it *faceauth.IssuedTemplate
	var err error
	switch faceID := u.Field("face_id"); {
	case faceID != "" && len(imgs) == 0:
		it, err = s.faces.ExportTemplate(r.Context(), s.tenant(r), faceID)
	case len(imgs) == 1:
		userID := u.Field("user_id")
		if userID == "" {
			userID = u.Field("userId")
		}
		skip, perr := optionalBool(u, "skip_liveness")
		if perr != nil {
			edge.Fail(w, r, perr)
			return
		}
		it, err = s.faces.IssueTemplate(r.Context(), s.tenant(r), userID, images(imgs)[0], skip)
	default:
		err = fault.New(fault.MissingField, "send user_id and one image, or face_id of an enrolled face")
	}
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	body := templateBody{Template: base64.StdEncoding.EncodeToString(it.Template), UserID: it.UserID, Model: it.Model,
		CreatedAt: it.CreatedAt.Format(time.RFC3339Nano), Quality: wire.QualityOf(it.Quality)}
	if it.Liveness != nil {
		l := wire.LivenessOf(*it.Liveness)
		body.Liveness = &l
	}
	edge.WriteJSON(w, 201, body)
}

func optionalBool(u *edge.Upload, name string) (bool, error) {
	v := u.Field(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fault.New(fault.BadRequest, "%s must be true or false", name)
	}
	return b, nil
}

// issueBestImageToken: POST /v1/tokens/best-image with one image.
func (s *Server) issueBestImageToken(w http.ResponseWriter, r *http.Request) {
	_, img, ok := oneImage(w, r)
	if !ok {
		return
	}
	tok, err := s.faces.IssueBestImageToken(r.Context(), s.tenant(r), *img)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 201, map[string]any{"bestImageToken": base64.StdEncoding.EncodeToString(tok.Token),
		"expires_at": tok.ExpiresAt.Format(time.RFC3339Nano), "liveness": wire.LivenessOf(tok.Liveness), "quality": wire.QualityOf(tok.Quality)})
}

// authenticateTemplate: POST /v1/templates/authenticate (JSON): user_id,
// registeredTemplateRaw or image, and bestImageToken or template.
func (s *Server) authenticateTemplate(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	req, err := portableRequest(u)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	res, err := s.faces.AuthenticatePortable(r.Context(), s.tenant(r), req)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, map[string]any{"authenticated": res.Outcome == faceauth.PortableAuthenticated, "outcome": res.Outcome,
		"similarity": res.Score, "cosine": res.Cosine, "threshold": res.Threshold, "match": res.Match,
		"liveness": wire.LivenessOf(res.Liveness), "liveness_checked": res.LivenessChecked,
		"template_user_id": res.BoundUser, "registeredTemplateRaw": base64.StdEncoding.EncodeToString(res.Template)})
}

// portableRequest reads a portable authentication; a reference photo
// comes as "image".
func portableRequest(u *edge.Upload) (faceauth.PortableAuth, error) {
	req := faceauth.PortableAuth{UserID: u.Field("user_id")}
	var err error
	if req.Template, err = b64Field(u, "registeredTemplateRaw", faceauth.SubjectTemplate); err != nil {
		return req, err
	}
	if req.Token, err = b64Field(u, "bestImageToken", faceauth.SubjectToken); err != nil {
		return req, err
	}
	if req.ProbeTemplate, err = b64Field(u, "template", faceauth.SubjectProbeTemplate); err != nil {
		return req, err
	}
	if imgs := u.ImagesFor("image"); len(imgs) > 0 && req.Template == nil {
		ref := images(imgs)[0]
		req.Reference = &ref
	}
	return req, nil
}

// b64Field decodes a base64 credential field; nil when absent or empty.
func b64Field(u *edge.Upload, name, subject string) ([]byte, error) {
	b, err := u.Base64Field(name)
	if err != nil {
		return nil, &fault.Error{Kind: fault.BadRequest, Message: name + " is not base64", Subject: subject}
	}
	return b, nil
}

// startBestImageSession: POST /v1/tokens/best-image/sessions opens a
// hosted page that takes one live selfie and hands its best-image token
// to the client's web page (/sdk/visage.js, docs/sdk.md).
func (s *Server) startBestImageSession(w http.ResponseWriter, r *http.Request) {
	var body struct {
		TTLSeconds int    `json:"ttl_seconds"`
		Locale     string `json:"locale"`
	}
	// Every field is optional, so an empty body is the defaults.
	if r.ContentLength != 0 {
		if err := edge.DecodeJSON(r, &body, true); err != nil {
			edge.Fail(w, r, err)
			return
		}
	}
	if body.TTLSeconds < 0 {
		edge.Fail(w, r, fault.New(fault.BadRequest, "ttl_seconds must be positive"))
		return
	}
	st, err := s.faces.StartBestImageSession(r.Context(), s.tenant(r), faceauth.AuthSessionOptions{
		TTL: time.Duration(body.TTLSeconds) * time.Second, Locale: body.Locale})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 201, map[string]any{"url": st.URL, "token": st.Token, "session_id": st.ID, "expires_at": st.ExpiresAt.Format(time.RFC3339)})
}
