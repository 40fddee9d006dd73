package api

import (
	"net/http"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/kyc"
)

// Verification is a verification case as the native API shows it.
type Verification struct {
	ID               string              `json:"id"`
	UniqueIdentifier string              `json:"unique_identifier"`
	FirstName        string              `json:"first_name"`
	LastName         string              `json:"last_name"`
	Email            string              `json:"email"`
	Phone            string              `json:"phone"`
	DocumentType     *string             `json:"document_type"`
	Status           string              `json:"status"`
	Reason           *string             `json:"reason"`
	Source           string              `json:"source"`
	RequestURL       string              `json:"request_url"`
	Attempts         int                 `json:"attempts"`
	Details          VerificationDetails `json:"details"`
	Results          *VerificationResult `json:"results"`
	Review           *VerificationReview `json:"review"`
	Files            []VerificationFile  `json:"files"`
	CreatedAt        time.Time           `json:"created_at"`
	UpdatedAt        time.Time           `json:"updated_at"`
	ExpiresAt        time.Time           `json:"expires_at"`
	StartedAt        *time.Time          `json:"started_at"`
	SubmittedAt      *time.Time          `json:"submitted_at"`
	DecidedAt        *time.Time          `json:"decided_at"`
}

// VerificationDetails are the holder's data read from the document; null
// where unknown.
type VerificationDetails struct {
	DateOfBirth    *string `json:"date_of_birth"`
	Gender         *string `json:"gender"`
	IDNumber       *string `json:"id_number"`
	Nationality    *string `json:"nationality"`
	GivenNames     *string `json:"given_names"`
	Surname        *string `json:"surname"`
	ExpirationDate *string `json:"expiration_date"`
	Country        *string `json:"country"`
	Age            *int    `json:"age"`
}

// VerificationResult is what a submission's checks measured.
type VerificationResult struct {
	Checks      []VerificationCheck  `json:"checks"`
	Method      string               `json:"method"`
	Similarity  *float64             `json:"similarity"`
	Liveness    *float64             `json:"liveness"`
	MRZ         *VerificationMRZ     `json:"mrz"`
	Video       *VerificationVideo   `json:"video"`
	Address     *VerificationAddress `json:"address"`
	ProcessedAt time.Time            `json:"processed_at"`
	DurationMS  int64                `json:"duration_ms"`
}

// VerificationMRZ is what the document's machine-readable zone gave.
type VerificationMRZ struct {
	Format        string   `json:"format"`
	Valid         bool     `json:"valid"`
	InvalidChecks []string `json:"invalid_checks"`
}

// VerificationVideo summarises a selfie video's frames.
type VerificationVideo struct {
	DurationS      float64 `json:"duration_s"`
	Frames         int     `json:"frames"`
	FaceFrames     int     `json:"face_frames"`
	MultiFaceShare float64 `json:"multi_face_share"`
	LivenessMedian float32 `json:"liveness_median"`
	LiveShare      float64 `json:"live_share"`
	Blink          bool    `json:"blink"`
	YawRange       float64 `json:"yaw_range"`
	SamePerson     bool    `json:"same_person"`
	// IdentityChanges are the frame indexes where another person appears.
	IdentityChanges []int `json:"identity_changes"`
}

// VerificationAddress is what a proof of address showed.
type VerificationAddress struct {
	NameFound bool    `json:"name_found"`
	Date      *string `json:"date"`
	AgeDays   *int    `json:"age_days"`
}

// VerificationCheck is one check with its score.
type VerificationCheck struct {
	Name      string   `json:"name"`
	Status    string   `json:"status"` // pass, fail, review, skipped
	Reason    *string  `json:"reason"`
	Score     *float64 `json:"score"`
	Threshold *float64 `json:"threshold"`
	Detail    string   `json:"detail,omitempty"`
}

// VerificationReview is an operator's decision.
type VerificationReview struct {
	Approved bool      `json:"approved"`
	Note     string    `json:"note"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// VerificationFile is a stored file with a capability URL (null once
// purged after the retention period).
type VerificationFile struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	FileName    string    `json:"file_name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	URL         *string   `json:"url"`
	Purged      bool      `json:"purged"`
	CreatedAt   time.Time `json:"created_at"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// VerificationOf converts a case.
func VerificationOf(c *kyc.Case) Verification {
	d := c.Details
	v := Verification{ID: c.ID, UniqueIdentifier: c.UniqueIdentifier, FirstName: c.FirstName, LastName: c.LastName,
		Email: c.Email, Phone: c.Phone, DocumentType: nullable(c.DocumentType), Status: c.Status, Reason: nullable(c.Reason),
		Source: c.Source, RequestURL: c.RequestURL, Attempts: c.Attempts, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		ExpiresAt: c.ExpiresAt, StartedAt: c.StartedAt, SubmittedAt: c.SubmittedAt, DecidedAt: c.DecidedAt,
		Details: VerificationDetails{DateOfBirth: d.DateOfBirth, Gender: d.Gender, IDNumber: d.IDNumber, Nationality: d.Nationality,
			GivenNames: d.GivenNames, Surname: d.Surname, ExpirationDate: d.ExpirationDate, Country: d.Country, Age: d.Age},
		Files: make([]VerificationFile, 0, len(c.Files))}
	if r := c.Results; r != nil {
		res := &VerificationResult{Method: r.Method, Similarity: r.Similarity, Liveness: r.Liveness, ProcessedAt: r.ProcessedAt,
			DurationMS: r.DurationMS, Checks: make([]VerificationCheck, 0, len(r.Checks))}
		for _, ch := range r.Checks {
			res.Checks = append(res.Checks, VerificationCheck{Name: ch.Name, Status: ch.Status, Reason: nullable(ch.Reason),
				Score: ch.Score, Threshold: ch.Threshold, Detail: ch.Detail})
		}
		res.MRZ, res.Video, res.Address = mrzOf(r.MRZ), videoOf(r.Video), addressOf(r.Address)
		v.Results = res
	}
	if rv := c.Decision; rv != nil {
		v.Review = &VerificationReview{Approved: rv.Approved, Note: rv.Note, By: rv.By, At: rv.At}
	}
	for _, f := range c.Files {
		v.Files = append(v.Files, VerificationFile{ID: f.ID, Kind: f.Kind, FileName: f.FileName, ContentType: f.ContentType,
			Size: f.Size, URL: nullable(f.URL), Purged: f.Purged, CreatedAt: f.CreatedAt})
	}
	return v
}

// The submission fields: the document's sides and a selfie photo or video.
var (
	imageFields = []string{"document_front", "document_back", "selfie"}
	videoFields = []string{"selfie_video"}
)

// submitMaxBody fits a video and two document sides.
func (s *Server) submitMaxBody() int64 {
	return s.submitSpec().MaxFileBytes + 3*max(s.cfg.MaxImageBytes, 20<<20) + 1<<20
}

func (s *Server) submitSpec() *edge.UploadSpec {
	max := s.cfg.MaxVideoBytes
	if max <= 0 {
		max = 50 << 20
	}
	return &edge.UploadSpec{Images: imageFields, Files: videoFields, MaxFileBytes: max, NoRaw: true}
}

// SubmissionOf reads a submission's files from a parsed upload, under the
// given field names for each part.
func SubmissionOf(u *edge.Upload, front, back, selfie, video string) kyc.Submission {
	var sub kyc.Submission
	img := func(field string) *kyc.Input {
		if ims := u.ImagesFor(field); len(ims) > 0 {
			return &kyc.Input{Data: ims[0].Data, FileName: ims[0].FileName, ContentType: ims[0].ContentType}
		}
		return nil
	}
	sub.DocumentFront, sub.DocumentBack, sub.Selfie = img(front), img(back), img(selfie)
	if f := u.FileFor(video); f != nil {
		sub.SelfieVideo = &kyc.Input{Path: f.Path, Size: f.Size, FileName: f.FileName, ContentType: f.ContentType}
	}
	return sub
}

func (s *Server) createVerification(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UniqueIdentifier string `json:"unique_identifier"`
		FirstName        string `json:"first_name"`
		LastName         string `json:"last_name"`
		Email            string `json:"email"`
		Phone            string `json:"phone"`
		DocumentType     string `json:"document_type"`
		TTLSeconds       int    `json:"ttl_seconds"`
	}
	if err := edge.DecodeJSON(r, &body, true); err != nil {
		edge.Fail(w, r, err)
		return
	}
	if body.UniqueIdentifier == "" {
		edge.Fail(w, r, fault.New(fault.MissingField, "unique_identifier is required"))
		return
	}
	if body.TTLSeconds < 0 {
		edge.Fail(w, r, fault.New(fault.BadRequest, "ttl_seconds must be positive"))
		return
	}
	c, err := s.cfg.Verify.Create(r.Context(), s.tenant(r), kyc.NewCase{UniqueIdentifier: body.UniqueIdentifier,
		FirstName: body.FirstName, LastName: body.LastName, Email: body.Email, Phone: body.Phone, DocumentType: body.DocumentType,
		Source: kyc.SourceNative, LinkTTL: time.Duration(body.TTLSeconds) * time.Second})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/verifications/"+c.ID)
	edge.WriteJSON(w, 201, VerificationOf(c))
}

func (s *Server) listVerifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, r)
	if !ok {
		return
	}
	cases, next, err := s.cfg.Verify.List(r.Context(), integrationID(r), q.Get("status"), q.Get("cursor"), limit)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	out := struct {
		Verifications []Verification `json:"verifications"`
		Next          string         `json:"next_cursor,omitempty"`
	}{Verifications: make([]Verification, 0, len(cases)), Next: next}
	for i := range cases {
		out.Verifications = append(out.Verifications, VerificationOf(&cases[i]))
	}
	edge.WriteJSON(w, 200, out)
}

func (s *Server) getVerification(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Verify.Get(r.Context(), integrationID(r), r.PathValue("id"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, VerificationOf(c))
}

// submitVerification: the client sends the files itself (multipart).
func (s *Server) submitVerification(w http.ResponseWriter, r *http.Request) {
	sub := SubmissionOf(edge.UploadOf(r), "document_front", "document_back", "selfie", "selfie_video")
	c, err := s.cfg.Verify.Submit(r.Context(), s.tenant(r), r.PathValue("id"), sub)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, VerificationOf(c))
}

// reviewVerification: an operator decides a case Under Review.
func (s *Server) reviewVerification(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"` // approve or decline
		Note     string `json:"note"`
		By       string `json:"by"`
	}
	if err := edge.DecodeJSON(r, &body, true); err != nil {
		edge.Fail(w, r, err)
		return
	}
	if body.Decision != "approve" && body.Decision != "decline" {
		edge.Fail(w, r, fault.New(fault.BadRequest, `decision must be "approve" or "decline"`))
		return
	}
	by := body.By
	if by == "" {
		by = "api key " + edge.PrincipalOf(r.Context()).KeyID
	}
	c, err := s.cfg.Verify.Decide(r.Context(), integrationID(r), r.PathValue("id"), body.Decision == "approve", body.Note, by)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, VerificationOf(c))
}

// verificationFile serves a case file to its integration.
func (s *Server) verificationFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.cfg.Verify.FileData(r.Context(), integrationID(r), r.PathValue("fileId"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	writeFile(w, f)
}

// signedFile serves a case file by its capability URL (no credentials: the
// signature is the credential), as the vendors' file URLs work.
func (s *Server) signedFile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := s.cfg.Verify.OpenFile(r.Context(), r.PathValue("integration"), r.PathValue("fileId"), q.Get("exp"), q.Get("sig"))
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	writeFile(w, f)
}

func writeFile(w http.ResponseWriter, f *kyc.FileData) {
	if f.Kind == kyc.FileSelfieVideo {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+f.ID+`"`)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "private, no-store")
		_, _ = w.Write(f.Data)
		return
	}
	edge.WriteImage(w, f.Data, f.ContentType)
}

// verificationRoutes are the native case routes (when the server runs
// the verification service).
func (s *Server) verificationRoutes() []edge.Route {
	if s.cfg.Verify == nil {
		return nil
	}
	auth := func(pattern string, h http.HandlerFunc, up *edge.UploadSpec) edge.Route {
		return edge.Route{Pattern: pattern, Handler: h, Auth: edge.Required, Upload: up}
	}
	return []edge.Route{
		auth("POST /v1/verifications", s.createVerification, nil),
		auth("GET /v1/verifications", s.listVerifications, nil),
		auth("GET /v1/verifications/{id}", s.getVerification, nil),
		{Pattern: "POST /v1/verifications/{id}/submit", Handler: s.submitVerification, Auth: edge.Required,
			Upload: s.submitSpec(), MaxBody: s.submitMaxBody()},
		auth("POST /v1/verifications/{id}/review", s.reviewVerification, nil),
		auth("GET /v1/verifications/{id}/files/{fileId}", s.verificationFile, nil),
		{Pattern: "GET /files/{integration}/{fileId}", Handler: s.signedFile},
	}
}

func mrzOf(m *kyc.MRZResult) *VerificationMRZ {
	if m == nil {
		return nil
	}
	return &VerificationMRZ{Format: m.Format, Valid: m.Valid, InvalidChecks: append([]string{}, m.Invalid...)}
}

func videoOf(v *kyc.VideoResult) *VerificationVideo {
	if v == nil {
		return nil
	}
	return &VerificationVideo{DurationS: v.Duration, Frames: v.Frames, FaceFrames: v.FaceFrames, MultiFaceShare: v.MultiFaceShare,
		LivenessMedian: v.LivenessMedian, LiveShare: v.LiveShare, Blink: v.Blink, YawRange: v.YawRange, SamePerson: v.SamePerson,
		IdentityChanges: append([]int{}, v.Changes...)}
}

func addressOf(a *kyc.AddressFound) *VerificationAddress {
	if a == nil {
		return nil
	}
	out := &VerificationAddress{NameFound: a.NameFound, Date: nullable(a.Date)}
	if a.Date != "" {
		out.AgeDays = &a.AgeDays
	}
	return out
}
