package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/fault"
)

// Applicant is a validation request as the native API shows it.
type Applicant struct {
	ID           string            `json:"id"`
	Subject      *string           `json:"subject"`
	Purpose      string            `json:"purpose"`
	Status       string            `json:"status"`
	ProfileID    *string           `json:"profile_id"`
	EndeavorID   *string           `json:"endeavor_id"`
	CallbackURL  *string           `json:"callback_url"`
	MaxAttempts  int               `json:"max_attempts"`
	Attempts     int               `json:"attempts"`
	AuthAttempts int               `json:"auth_attempts"`
	AuthFailures int               `json:"auth_failures"`
	LastResult   *applicant.Result `json:"last_result"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	CompletedAt  *time.Time        `json:"completed_at"`
	ClosedAt     *time.Time        `json:"closed_at"`
}

func applicantOf(a *applicant.Applicant) Applicant {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return Applicant{ID: a.ID, Subject: opt(a.Subject), Purpose: a.Purpose, Status: a.Status, ProfileID: opt(a.ProfileID),
		EndeavorID: opt(a.EndeavorID), CallbackURL: opt(a.CallbackURL), MaxAttempts: a.MaxAttempts, Attempts: a.Attempts,
		AuthAttempts: a.AuthAttempts, AuthFailures: a.AuthFailures, LastResult: a.Last, CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt, CompletedAt: a.CompletedAt, ClosedAt: a.ClosedAt}
}

// applicantRoutes are the native validation requests.
func (s *Server) applicantRoutes() []edge.Route {
	if s.cfg.Applicants == nil {
		return nil
	}
	// Scopes: nativeScopes (server.go).
	auth := func(pattern string, h http.HandlerFunc, up *edge.UploadSpec) edge.Route {
		return edge.Route{Pattern: pattern, Handler: h, Auth: edge.Required, Upload: up}
	}
	validate := &edge.UploadSpec{Images: []string{"face_image", "document_front", "document_back"}, NoRaw: true, MaxImages: 3}
	return []edge.Route{
		auth("POST /v1/applicants", s.createApplicant, nil),
		auth("GET /v1/applicants/{id}", s.getApplicant, nil),
		auth("POST /v1/applicants/{id}/close", s.closeApplicant, nil),
		auth("POST /v1/applicants/{id}/validate", s.validateApplicant, validate),
	}
}

func (s *Server) createApplicant(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Subject     string `json:"subject"`
		Purpose     string `json:"purpose"`
		MaxAttempts int    `json:"max_attempts"`
		EndeavorID  string `json:"endeavor_id"`
		CallbackURL string `json:"callback_url"`
	}
	if r.ContentLength != 0 {
		if err := edge.DecodeJSON(r, &body, true); err != nil {
			edge.Fail(w, r, err)
			return
		}
	}
	a, err := s.cfg.Applicants.Create(r.Context(), s.tenant(r), applicant.NewApplicant{Subject: body.Subject, Purpose: body.Purpose,
		MaxAttempts: body.MaxAttempts, EndeavorID: body.EndeavorID, CallbackURL: body.CallbackURL})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/applicants/"+a.ID)
	edge.WriteJSON(w, 201, applicantOf(a))
}

func (s *Server) getApplicant(w http.ResponseWriter, r *http.Request) {
	a, err := s.cfg.Applicants.Get(r.Context(), integrationID(r), r.PathValue("id"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, applicantOf(a))
}

func (s *Server) closeApplicant(w http.ResponseWriter, r *http.Request) {
	a, err := s.cfg.Applicants.Close(r.Context(), integrationID(r), r.PathValue("id"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, applicantOf(a))
}

// validateApplicant runs one attempt: JSON with base64 images (or
// multipart) face_image, document_front, document_back and the fields
// document_type and endeavor_id.
func (s *Server) validateApplicant(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	dt, err := strconv.Atoi(u.Field("document_type"))
	if err != nil {
		edge.Fail(w, r, fault.New(fault.BadRequest, "document_type is required: 1 licence, 2 passport, 3 ID card or 10 face only"))
		return
	}
	in := applicant.Input{DocumentType: dt, EndeavorID: u.Field("endeavor_id")}
	for _, f := range []struct {
		name string
		data *[]byte
		has  *bool
	}{{"face_image", &in.Face, &in.HasFace}, {"document_front", &in.Front, &in.HasFront}, {"document_back", &in.Back, &in.HasBack}} {
		if imgs := u.ImagesFor(f.name); len(imgs) > 0 {
			*f.data, *f.has = imgs[0].Data, true
		}
	}
	res, err := s.cfg.Applicants.Validate(r.Context(), s.tenant(r), r.PathValue("id"), in)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, res)
}
