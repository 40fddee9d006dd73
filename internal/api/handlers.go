package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/api/wire"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

func (s *Server) tenant(r *http.Request) faceauth.Tenant {
	return faceauth.TenantOf(edge.PrincipalOf(r.Context()).Integration)
}

func integrationID(r *http.Request) string { return edge.PrincipalOf(r.Context()).Integration.ID }

// images converts uploaded images for the face service.
func images(u []edge.Image) []faceauth.Image {
	out := make([]faceauth.Image, len(u))
	for i, im := range u {
		out[i] = faceauth.Image{Data: im.Data, Name: im.Field, ContentType: im.ContentType}
	}
	return out
}

// Upload specs of the native routes.
var (
	enrolUpload   = &edge.UploadSpec{Images: []string{"image", "images"}, QueryFields: true}
	oneUpload     = &edge.UploadSpec{Images: []string{"image"}, QueryFields: true}
	compareUpload = &edge.UploadSpec{Images: []string{"image_a", "image_b"}, QueryFields: true}
)

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	tok, exp, err := s.tenancy.IssueJWT(r.Context(), edge.PrincipalOf(r.Context()))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(time.Until(exp).Seconds()), "expires_at": exp.UTC().Format(time.RFC3339)})
}

// enrol: POST /v1/faces with face_id and one or more images.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	faceID := u.Field("face_id")
	if faceID == "" {
		edge.Fail(w, r, fault.New(fault.MissingField, "face_id is required"))
		return
	}
	opt, err := enrolOptions(u)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	v, err := s.faces.Enrol(r.Context(), s.tenant(r), faceID, images(u.ImagesFor("image", "images")), opt)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/faces/"+url.PathEscape(v.FaceID))
	edge.WriteJSON(w, 201, wire.FaceOf(v))
}

func enrolOptions(u *edge.Upload) (faceauth.EnrolOptions, error) {
	var opt faceauth.EnrolOptions
	if m, ok := u.JSON["metadata"]; ok {
		opt.Metadata = m
	} else if m := u.Field("metadata"); m != "" {
		if !json.Valid([]byte(m)) {
			return opt, fault.New(fault.MalformedBody, "metadata must be JSON")
		}
		opt.Metadata = json.RawMessage(m)
	}
	var err error
	opt.SkipLiveness, err = optionalBool(u, "skip_liveness")
	return opt, err
}

func (s *Server) addImages(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	opt, err := enrolOptions(u)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	v, err := s.faces.AddImages(r.Context(), s.tenant(r), r.PathValue("faceId"), images(u.ImagesFor("image", "images")), opt)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.FaceOf(v))
}

func (s *Server) listFaces(w http.ResponseWriter, r *http.Request) {
	limit, ok := pageLimit(w, r)
	if !ok {
		return
	}
	list, err := s.faces.ListFaces(r.Context(), integrationID(r), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.FaceListOf(list))
}

func (s *Server) getFace(w http.ResponseWriter, r *http.Request) {
	v, err := s.faces.GetFace(r.Context(), integrationID(r), r.PathValue("faceId"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.FaceOf(v))
}

func (s *Server) patchFace(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	if err := edge.DecodeJSON(r, &body, false); err != nil {
		edge.Fail(w, r, err)
		return
	}
	if body.Enabled == nil {
		edge.Fail(w, r, fault.New(fault.MissingField, "enabled is required"))
		return
	}
	v, err := s.faces.SetEnabled(r.Context(), integrationID(r), r.PathValue("faceId"), *body.Enabled)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.FaceOf(v))
}

// unlockFace lifts a lockout after failed verifications.
func (s *Server) unlockFace(w http.ResponseWriter, r *http.Request) {
	v, err := s.faces.Unlock(r.Context(), integrationID(r), r.PathValue("faceId"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.FaceOf(v))
}

func (s *Server) deleteFace(w http.ResponseWriter, r *http.Request) {
	if err := s.faces.DeleteFace(r.Context(), integrationID(r), r.PathValue("faceId")); err != nil {
		edge.Fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// oneImage is the single image of a request, or answers 400.
func oneImage(w http.ResponseWriter, r *http.Request) (*edge.Upload, *faceauth.Image, bool) {
	u := edge.UploadOf(r)
	imgs := u.ImagesFor("image")
	if len(imgs) != 1 {
		edge.Fail(w, r, fault.New(fault.MissingField, `exactly one image is required (field "image")`))
		return nil, nil, false
	}
	return u, &images(imgs)[0], true
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	_, img, ok := oneImage(w, r)
	if !ok {
		return
	}
	v, err := s.faces.Verify(r.Context(), s.tenant(r), r.PathValue("faceId"), *img)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.VerificationOf(v))
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	a, b := u.ImagesFor("image_a"), u.ImagesFor("image_b")
	if len(a) != 1 || len(b) != 1 {
		edge.Fail(w, r, fault.New(fault.MissingField, "image_a and image_b are required, one image each"))
		return
	}
	res, err := s.faces.Compare(r.Context(), s.tenant(r), images(a)[0], images(b)[0])
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.ComparisonOf(res))
}

func (s *Server) detect(w http.ResponseWriter, r *http.Request) {
	_, img, ok := oneImage(w, r)
	if !ok {
		return
	}
	res, err := s.faces.Analyze(r.Context(), *img)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.AnalysisOf(res))
}

func (s *Server) liveness(w http.ResponseWriter, r *http.Request) {
	_, img, ok := oneImage(w, r)
	if !ok {
		return
	}
	res, f, err := s.faces.Liveness(r.Context(), s.tenant(r), *img)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.LivenessCheck{Liveness: wire.LivenessOf(*res), Box: wire.BoxOf(f.Box), Quality: wire.QualityOf(f.Quality)})
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	u, img, ok := oneImage(w, r)
	if !ok {
		return
	}
	limit, threshold := 10, 0.0
	var err error
	if v := u.Field("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			edge.Fail(w, r, fault.New(fault.BadRequest, "limit must be a positive integer"))
			return
		}
	}
	if v := u.Field("threshold"); v != "" {
		// ParseFloat accepts "NaN" and "Inf": the service refuses them.
		if threshold, err = strconv.ParseFloat(v, 64); err != nil {
			edge.Fail(w, r, fault.New(fault.BadRequest, "threshold must be a number 0–100"))
			return
		}
	}
	res, err := s.faces.Search(r.Context(), s.tenant(r), *img, limit, threshold)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, wire.SearchOf(res))
}

func (s *Server) faceImage(w http.ResponseWriter, r *http.Request) {
	data, ctype, err := s.faces.ImageData(r.Context(), integrationID(r), r.PathValue("faceId"), r.PathValue("imageId"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteImage(w, data, ctype)
}

// startCapture opens a hosted face-2FA capture session for a face_id
// (created disabled when new, enabled once registered) and returns the
// page URL.
func (s *Server) startCapture(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FaceID     string `json:"face_id"`
		TTLSeconds int    `json:"ttl_seconds"`
	}
	if err := edge.DecodeJSON(r, &body, false); err != nil {
		edge.Fail(w, r, err)
		return
	}
	if body.FaceID == "" {
		edge.Fail(w, r, fault.New(fault.MissingField, "face_id is required"))
		return
	}
	if body.TTLSeconds < 0 {
		edge.Fail(w, r, fault.New(fault.BadRequest, "ttl_seconds must be positive"))
		return
	}
	st, err := s.faces.Start2FA(r.Context(), s.tenant(r), body.FaceID, faceauth.StartOptions{TTL: time.Duration(body.TTLSeconds) * time.Second})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	if st.Registered {
		edge.WriteJSON(w, 409, envelope{Error: errorBody{Code: codes[fault.AlreadyEnrolled].code,
			Message: "face already registered: delete it first to register again", RequestID: edge.RequestID(r.Context()),
			Details: wire.FaceOf(st.Face)}})
		return
	}
	edge.WriteJSON(w, 201, map[string]any{"url": st.URL, "token": st.Token, "face": wire.FaceOf(st.Face)})
}
