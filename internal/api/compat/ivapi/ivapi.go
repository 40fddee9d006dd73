// Package ivapi speaks the Identity Verification API (seed 002: GET /verif/
// serves the hosted page, POST /verif/submit takes a selfie video and an ID
// photo, a webhook reports the result) over the native verification
// service. It adapts words and shapes only; the checks and the decision are
// the kyc service's. docs/compat.md records every choice the vendor's
// document leaves open.
package ivapi

import (
	"fmt"
	"math"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/tenancy"
)

// Paths of the surface, as the seed names them.
const (
	pathPage   = "GET /verif/{$}"
	pathSubmit = "POST /verif/submit"
)

// UserAgent of this surface's webhooks, as the seed names it.
const UserAgent = "IdentityVerification/1.0"

// EventCompleted names the webhook configured for this surface's results.
const EventCompleted = "verification.completed"

// Handler serves the surface.
type Handler struct {
	cases    *kyc.Service
	maxVideo int64
	maxImage int64
	page     PageRenderer
}

// PageRenderer serves the hosted page and its assets (internal/web).
type PageRenderer interface {
	ServeVerify(w http.ResponseWriter, r *http.Request, p Page)
	ServeAsset(w http.ResponseWriter, r *http.Request, name string)
}

// Page is what the hosted page needs from this surface.
type Page struct {
	IntegrationID string
	SubmitURL     string
	Fields        map[string]string
}

// New builds the handler; page may be nil (no hosted page).
func New(cases *kyc.Service, maxVideo, maxImage int64, page PageRenderer) *Handler {
	if maxVideo <= 0 {
		maxVideo = 50 << 20
	}
	if maxImage <= 0 {
		maxImage = 20 << 20
	}
	return &Handler{cases: cases, maxVideo: maxVideo, maxImage: maxImage, page: page}
}

// Surface is the adapter on the request edge.
func (h *Handler) Surface() edge.Surface {
	spec := &edge.UploadSpec{Images: []string{"id_photo"}, Files: []string{"selfie_video"}, MaxFileBytes: h.maxVideo, NoRaw: true}
	routes := []edge.Route{{Pattern: pathSubmit, Handler: h.submit, Auth: edge.FormKeyOptional, KeyField: "api_key",
		Upload: spec, MaxBody: h.maxVideo + h.maxImage + 1<<20, Scope: tenancy.ScopeEnrol}}
	if h.page != nil {
		routes = append(routes, edge.Route{Pattern: pathPage, Handler: h.pageHandler, Auth: edge.Required, Scope: tenancy.ScopeEnrol},
			edge.Route{Pattern: "GET /verif/assets/{name}", Handler: func(w http.ResponseWriter, r *http.Request) {
				h.page.ServeAsset(w, r, r.PathValue("name"))
			}, Undocumented: true})
	}
	return edge.Surface{Name: "ivapi", Renderer: renderer{}, Prefixes: []string{"/verif/"}, Routes: routes}
}

// userOf is the user fields of a request (user_identifier or user_id).
func userOf(get func(string) string) (uid, email, phone string) {
	uid = get("user_identifier")
	if uid == "" {
		uid = get("user_id")
	}
	return uid, get("user_email"), get("user_phone")
}

// pageHandler serves the hosted page to a partner's user. The page gets a
// short-lived session token, never the API key.
func (h *Handler) pageHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	uid, email, phone := userOf(func(k string) string { return strings.TrimSpace(q.Get(k)) })
	if uid == "" {
		edge.Fail(w, r, userRequired)
		return
	}
	in := edge.PrincipalOf(r.Context()).Integration
	tok := h.cases.PageToken(kyc.PageClaims{IntegrationID: in.ID, UniqueIdentifier: uid, Email: email, Phone: phone})
	h.page.ServeVerify(w, r, Page{IntegrationID: in.ID, SubmitURL: "/verif/submit", Fields: map[string]string{"session_token": tok}})
}

var (
	userRequired  = fault.New(fault.MissingField, "User identifier is required")
	filesRequired = fault.New(fault.MissingField, "Both selfie video and ID photo are required")
)

// submit processes a verification: the API key (or the hosted page's
// session token), the user, the selfie video and the ID photo.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	t, claims, err := h.caller(r, u)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	uid, email, phone := userOf(u.Field)
	if claims != nil {
		uid, email, phone = claims.UniqueIdentifier, claims.Email, claims.Phone
	}
	if uid == "" {
		edge.Fail(w, r, userRequired)
		return
	}
	video, photo := u.FileFor("selfie_video"), u.ImagesFor("id_photo")
	if video == nil || len(photo) == 0 {
		edge.Fail(w, r, filesRequired)
		return
	}
	checkID := uuid.NewString() // the seed's check_id form: a version-4 UUID
	now := time.Now().UTC()
	sub := kyc.Submission{
		DocumentFront: &kyc.Input{Data: photo[0].Data, FileName: fileName(checkID, "id", now, photo[0].FileName, ".jpg")},
		SelfieVideo: &kyc.Input{Path: video.Path, Size: video.Size, ContentType: video.ContentType,
			FileName: fileName(checkID, "selfie", now, video.FileName, ".mp4")},
	}
	c, err := h.cases.CreateAndSubmit(r.Context(), t, kyc.NewCase{UniqueIdentifier: uid, Email: email, Phone: phone,
		Source: kyc.SourceIVAPI, ExternalID: checkID}, sub)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	res := resultOf(c)
	edge.WriteJSON(w, 200, struct {
		Success bool   `json:"success"`
		CheckID string `json:"check_id"`
		Result  result `json:"result"`
	}{true, res.SessionID, res})
}

// caller is the request's integration: by API key, or by the hosted
// page's session token.
func (h *Handler) caller(r *http.Request, u *edge.Upload) (faceauth.Tenant, *kyc.PageClaims, error) {
	if p := edge.PrincipalOf(r.Context()); p != nil {
		return faceauth.TenantOf(p.Integration), nil, nil
	}
	tok := u.Field("session_token")
	if tok == "" {
		return faceauth.Tenant{}, nil, &fault.Error{Kind: fault.Unauthorized, Subject: edge.NoCredentials, Message: "API key is required"}
	}
	claims, err := h.cases.OpenPageToken(tok)
	if err != nil {
		return faceauth.Tenant{}, nil, err
	}
	in, err := h.cases.Integration(r.Context(), claims.IntegrationID)
	if err != nil {
		return faceauth.Tenant{}, nil, err
	}
	return faceauth.TenantOf(in), claims, nil
}

// fileName is the seed's "session_selfie_timestamp.mp4" form.
func fileName(checkID, kind string, at time.Time, uploaded, def string) string {
	ext := strings.ToLower(path.Ext(uploaded))
	if ext == "" || len(ext) > 6 {
		ext = def
	}
	return fmt.Sprintf("%s_%s_%d%s", checkID, kind, at.Unix(), ext)
}

// result is the seed's result object.
type result struct {
	SessionID              string     `json:"sessionId"`
	Timestamp              string     `json:"timestamp"`
	Files                  files      `json:"files"`
	FaceComparison         comparison `json:"faceComparison"`
	VerificationAssessment assessment `json:"verificationAssessment"`
	Status                 string     `json:"status"`
	videoURL, photoURL     string     // for the webhook
	completedAt            time.Time  // for the webhook
}

type files struct {
	SelfieVideo file `json:"selfieVideo"`
	IDPhoto     file `json:"idPhoto"`
}

type file struct {
	URL      *string `json:"url"`
	FileName string  `json:"fileName"`
}

type comparison struct {
	IsIdentical     bool    `json:"isIdentical"`
	Confidence      float64 `json:"confidence"`
	SimilarityScore int     `json:"similarityScore"`
	Method          string  `json:"method"`
}

type assessment struct {
	OverallScore       int    `json:"overallScore"`
	VerificationStatus string `json:"verificationStatus"`
	ConfidenceLevel    string `json:"confidenceLevel"`
	Summary            string `json:"summary"`
	// RiskFactors: the seed's own handler reads them; its example body
	// shows none. The reasons of the checks that failed or need review.
	RiskFactors []string `json:"riskFactors"`
}

// Statuses of this surface: verified and rejected as in the seed; a case
// in the review band is pending_review until an operator decides it.
const (
	statusVerified = "verified"
	statusRejected = "rejected"
	statusReview   = "pending_review"
)

func statusOf(c *kyc.Case) string {
	switch c.Status {
	case kyc.StatusApproved:
		return statusVerified
	case kyc.StatusDeclined:
		return statusRejected
	}
	return statusReview
}

// summaries are the sentences of a decision's reasons.
var summaries = map[string]string{
	"":                        "Verification completed successfully",
	kyc.ReasonFaceMismatch:    "The face in the video does not match the ID photo",
	kyc.ReasonFaceBorderline:  "The face match is uncertain: a person will review it",
	kyc.ReasonSpoof:           "The video does not show a live person",
	kyc.ReasonLivenessLow:     "Liveness is uncertain: a person will review it",
	kyc.ReasonFaceSwap:        "More than one person appears in the video",
	kyc.ReasonNoMotion:        "No movement was seen in the video: a person will review it",
	kyc.ReasonMRZInvalid:      "The ID document's machine-readable zone is invalid",
	kyc.ReasonMRZUnreadable:   "The ID document could not be read: a person will review it",
	kyc.ReasonExpired:         "The ID document has expired",
	kyc.ReasonUnderage:        "The ID holder is under the minimum age",
	kyc.ReasonNameMismatch:    "The name on the ID document differs: a person will review it",
	kyc.ReasonOperator:        "Decided by a reviewer",
	kyc.ReasonTooManyAttempts: "Too many failed attempts",
}

func summaryOf(c *kyc.Case) string {
	if s, ok := summaries[c.Reason]; ok {
		return s
	}
	return "Verification " + statusOf(c)
}

// resultOf renders a processed case as the seed's result.
func resultOf(c *kyc.Case) result {
	r := result{SessionID: c.ExternalID, Status: statusOf(c)}
	if r.SessionID == "" {
		r.SessionID = c.ID
	}
	at := c.UpdatedAt
	if c.Results != nil {
		at = c.Results.ProcessedAt
	}
	r.completedAt = at
	if c.DecidedAt != nil {
		r.completedAt = *c.DecidedAt
	}
	r.Timestamp = at.UTC().Format("2006-01-02T15:04:05.000Z")
	if f := c.FileOf(kyc.FileSelfieVideo); f != nil {
		r.Files.SelfieVideo = file{URL: orNull(f.URL), FileName: f.FileName}
		r.videoURL = f.URL
	}
	if f := c.FileOf(kyc.FileDocumentFront); f != nil {
		r.Files.IDPhoto = file{URL: orNull(f.URL), FileName: f.FileName}
		r.photoURL = f.URL
	}
	sim, live := 0.0, 0.0
	if c.Results != nil {
		r.FaceComparison.Method = "visage:" + c.Results.Method
		if c.Results.Similarity != nil {
			sim = *c.Results.Similarity
		}
		if c.Results.Liveness != nil {
			live = *c.Results.Liveness
		}
		for _, ch := range c.Results.Checks {
			if ch.Name == "face_match" {
				r.FaceComparison.IsIdentical = ch.Status == kyc.Pass
			}
		}
	}
	r.FaceComparison.Confidence = math.Round(sim) / 100
	r.FaceComparison.SimilarityScore = int(math.Round(sim))
	overall := 0.7*sim + 30*live
	if r.Status == statusRejected {
		overall = math.Min(overall, 49)
	}
	r.VerificationAssessment = assessment{OverallScore: int(math.Round(overall)), VerificationStatus: r.Status,
		ConfidenceLevel: confidence(r.Status, sim), Summary: summaryOf(c), RiskFactors: riskFactors(c)}
	return r
}

// riskFactors are the reasons of the checks that did not pass, each once.
func riskFactors(c *kyc.Case) []string {
	out := []string{}
	if c.Results == nil {
		return out
	}
	for _, ch := range c.Results.Checks {
		if (ch.Status == kyc.Fail || ch.Status == kyc.Review) && ch.Reason != "" && !slices.Contains(out, ch.Reason) {
			out = append(out, ch.Reason)
		}
	}
	return out
}

// confidence is high for a clear verdict (a match well above the
// threshold, or a mismatch far below it) and medium otherwise, review
// included.
func confidence(status string, sim float64) string {
	if (status == statusVerified && sim >= 85) || (status == statusRejected && sim < 50) {
		return "high"
	}
	return "medium"
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
