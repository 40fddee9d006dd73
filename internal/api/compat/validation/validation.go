// Package validation speaks the Validation API (seed 003:
// POST /api/v2/public/Validation with x-api-key): registration of an
// applicant by an ID document and a selfie, or by a selfie alone
// (documentType 10), and authorisation by a 1:N face search. It adapts
// words and shapes only: the checks, attempts and decisions are the
// applicant service's. docs/compat.md records every choice the vendor's
// document leaves open.
package validation

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/tenancy"
)

const pathValidation = "POST /api/v2/public/Validation"

// The request's image fields. backImageBase64 is Visage's extension: the
// back of a licence, where its barcode is.
const (
	fieldFace  = "model.faceImageBase64"
	fieldFront = "model.frontImageBase64"
	fieldBack  = "model.backImageBase64"
)

// Handler serves the surface.
type Handler struct {
	apps *applicant.Service
}

// New builds the handler.
func New(apps *applicant.Service) *Handler { return &Handler{apps: apps} }

// Surface is the adapter on the request edge.
func (h *Handler) Surface() edge.Surface {
	return edge.Surface{Name: "validation", Renderer: renderer{}, Prefixes: []string{"/api/v2/public/"},
		Routes: []edge.Route{{Pattern: pathValidation, Handler: h.validate, Auth: edge.Required, Scope: tenancy.ScopeEnrol,
			Upload: &edge.UploadSpec{Images: []string{fieldFace, fieldFront, fieldBack}, NoRaw: true, MaxImages: 3}}}}
}

func (h *Handler) validate(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	id := u.Field("applicantId")
	ctx := context.WithValue(r.Context(), applicantKey{}, id)
	in, err := input(u)
	if err == nil {
		var res *applicant.Result
		if res, err = h.apps.Validate(ctx, faceauth.TenantOf(edge.PrincipalOf(ctx).Integration), id, in); err == nil {
			edge.WriteJSON(w, 200, render(res))
			return
		}
	}
	edge.Fail(w, r.WithContext(ctx), err)
}

// input maps the seed's request onto an attempt.
func input(u *edge.Upload) (applicant.Input, error) {
	var in applicant.Input
	if u.JSON == nil {
		return in, fault.New(fault.MalformedBody, "the body must be a JSON object")
	}
	if u.Field("applicantId") == "" {
		return in, fault.New(fault.MissingField, "applicantId is required")
	}
	var model struct {
		DocumentType json.RawMessage `json:"documentType"`
	}
	if raw, ok := u.JSON["model"]; !ok || json.Unmarshal(raw, &model) != nil {
		return in, fault.New(fault.MissingField, "model is required: an object with faceImageBase64 and documentType")
	}
	dt := strings.Trim(string(model.DocumentType), `"`)
	if len(model.DocumentType) == 0 || dt == "null" {
		return in, fault.New(fault.MissingField, "model.documentType is required")
	}
	n, err := strconv.Atoi(dt)
	if err != nil {
		return in, fault.New(fault.BadRequest, "model.documentType must be an integer")
	}
	in.DocumentType = n
	in.EndeavorID = u.Field("endeavorId")
	if imgs := u.ImagesFor(fieldFace); len(imgs) > 0 {
		in.Face, in.HasFace = imgs[0].Data, true
	}
	if imgs := u.ImagesFor(fieldFront); len(imgs) > 0 {
		in.Front, in.HasFront = imgs[0].Data, true
	}
	if imgs := u.ImagesFor(fieldBack); len(imgs) > 0 {
		in.Back, in.HasBack = imgs[0].Data, true
	}
	return in, nil
}

// Response is the seed's response body, field for field and in its order.
type Response struct {
	ApplicantID             string           `json:"applicantId"`
	AttemptID               int              `json:"attemptId"`
	DocumentType            int              `json:"documentType"`
	Document                *Document        `json:"document"`
	AttemptsCount           int              `json:"attemptsCount"`
	AttemptsLeft            int              `json:"attemptsLeft"`
	Status                  int              `json:"status"`
	ValidationStatus        ValidationStatus `json:"validationStatus"`
	InvalidDataErrors       []string         `json:"invalidDataErrors"`
	FaceSuccess             bool             `json:"faceSuccess"`
	DocumentSuccess         *bool            `json:"documentSuccess"`
	DocumentHasNotExpired   *bool            `json:"documentHasNotExpired"`
	DocumentValidationTests []ValidationTest `json:"documentValidationTests"`
	CallBackURL             *string          `json:"callBackUrl"`
}

// ValidationStatus is the seed's validationStatus: null for a check that
// was not run.
type ValidationStatus struct {
	Expired             *bool `json:"expired"`
	DocumentIsValid     *bool `json:"documentIsValid"`
	FaceIsValid         bool  `json:"faceIsValid"`
	AntiSpoofingIsValid *bool `json:"antiSpoofingIsValid"`
	QualityIsValid      bool  `json:"qualityIsValid"`
}

// Document is the seed's document object; its fields are
// applicant.Document's, so one converts to the other.
type Document struct {
	PrivateName  *string `json:"privateName"`
	Abbr3Country *string `json:"abbr3Country"`
	AbbrCountry  *string `json:"abbrCountry"`
	Address      *string `json:"address"`
	City         *string `json:"city"`
	Class        *string `json:"class"`
	Country      *string `json:"country"`
	Dob          *string `json:"dob"`
	Expires      *string `json:"expires"`
	Eyes         *string `json:"eyes"`
	FamilyName   *string `json:"familyName"`
	FirstName    *string `json:"firstName"`
	FullName     *string `json:"fullName"`
	Gender       *string `json:"gender"`
	Hair         *string `json:"hair"`
	Height       *string `json:"height"`
	ID           *string `json:"id"`
	IDType       *string `json:"idType"`
	Issued       *string `json:"issued"`
	MiddleName   *string `json:"middleName"`
	PostalBox    *string `json:"postalBox"`
	State        *string `json:"state"`
	IssuedBy     *string `json:"issuedBy"`
	Template     *string `json:"template"`
	Weight       *string `json:"weight"`
	Zip          *string `json:"zip"`
}

// ValidationTest is one entry of documentValidationTests.
type ValidationTest struct {
	DisplayName  string `json:"displayName"`
	Name         string `json:"name"`
	Status       int    `json:"status"`
	StatusString string `json:"statusString"`
	Reason       string `json:"reason"`
}

// Result statuses (the seed's table).
const (
	statusSuccess     = 0
	statusFail        = 1
	statusInvalidData = 2
)

// Test statuses: -1 Disabled and 2 Skipped as the seed shows them; 0
// Passed and 1 Failed are Visage's, for its own document checks.
const (
	testDisabled = -1
	testPassed   = 0
	testFailed   = 1
	testSkipped  = 2
)

// integrations are the vendor platform's document integrations, which
// Visage does not have: shown as the seed shows them, never run.
var integrations = []ValidationTest{
	{DisplayName: "AddressValidation", Name: "AddressValidation", Status: testSkipped, StatusString: "Skipped", Reason: "Integration was skipped by flow"},
	{DisplayName: "DMV", Name: "DMVValidation", Status: testDisabled, StatusString: "Disabled", Reason: "Integration was turned off"},
	{DisplayName: "IdentiFraud", Name: "IdentiFraudValidation", Status: testDisabled, StatusString: "Disabled", Reason: "Integration was turned off"},
}

// testNames are Visage's document checks in this surface's words.
var testNames = map[string][2]string{
	"mrz_check_digits": {"MRZ", "MRZValidation"},
	"document_type":    {"DocumentType", "DocumentTypeValidation"},
	"aamva_barcode":    {"Barcode", "BarcodeValidation"},
}

// problems are the InvalidData problems in this surface's words.
var problems = map[string]string{
	applicant.ProblemFrontMissing:   "frontImageBase64 is required for this documentType",
	applicant.ProblemFrontInvalid:   "frontImageBase64 is not a readable image",
	applicant.ProblemBackInvalid:    "backImageBase64 is not a readable image",
	applicant.ProblemNoDocumentFace: "No faces found on the document",
	applicant.ProblemMRZUnreadable:  "The document's machine-readable zone could not be read",
	applicant.ProblemNoBarcode:      "The licence's PDF417 barcode could not be read (send the back as backImageBase64)",
	applicant.ProblemExpiryUnknown:  "The document's expiry date could not be read",
}

// render writes an attempt in the seed's words.
func render(res *applicant.Result) Response {
	c := res.Checks
	out := Response{ApplicantID: res.ApplicantID, AttemptID: res.Attempt, DocumentType: res.DocumentType,
		AttemptsCount: res.MaxAttempts, AttemptsLeft: res.AttemptsLeft, InvalidDataErrors: []string{},
		DocumentValidationTests: []ValidationTest{},
		ValidationStatus: ValidationStatus{Expired: c.Expired, DocumentIsValid: c.DocumentValid, FaceIsValid: c.FaceValid,
			AntiSpoofingIsValid: c.AntiSpoofing, QualityIsValid: c.Quality},
		FaceSuccess: c.FaceSuccess(), DocumentSuccess: c.DocumentSuccess()}
	if c.Expired != nil {
		notExpired := !*c.Expired
		out.DocumentHasNotExpired = &notExpired
	}
	switch res.Outcome {
	case applicant.Success:
		out.Status = statusSuccess
	case applicant.InvalidData:
		out.Status = statusInvalidData
	default:
		out.Status = statusFail
	}
	if res.Document != nil {
		d := Document(*res.Document)
		// The seed shows abbrCountry null even for a US licence; Visage's
		// alpha-2 code stays on the native API (abbr_country).
		d.AbbrCountry = nil
		out.Document = &d
	}
	if res.Kind == applicant.KindDocumentRegistration {
		out.DocumentValidationTests = append(out.DocumentValidationTests, integrations...)
		for _, t := range res.DocumentTests {
			names, ok := testNames[t.Name]
			if !ok {
				names = [2]string{t.Name, t.Name}
			}
			vt := ValidationTest{DisplayName: names[0], Name: names[1], Status: testPassed, StatusString: "Passed", Reason: t.Detail}
			if t.Status != "pass" {
				vt.Status, vt.StatusString = testFailed, "Failed"
			}
			out.DocumentValidationTests = append(out.DocumentValidationTests, vt)
		}
	}
	for _, p := range res.Problems {
		msg, ok := problems[p.Code]
		if !ok {
			msg = p.Message
		}
		out.InvalidDataErrors = append(out.InvalidDataErrors, msg)
	}
	if res.CallbackURL != "" {
		out.CallBackURL = &res.CallbackURL
	}
	return out
}
