package identitygram

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/tenancy"
)

// The verification paths: the seed says only "the external api which you
// can checkout on swagger"; these follow the other /v2 names.
const (
	pathAddVerification = "POST /v2/verification/add-verification"
	pathGetVerification = "POST /v2/verification/get-verification"
)

// Keys opens a caller's encryptedData key pair (*tenancy.Service).
type Keys interface {
	PrincipalKeys(p *tenancy.Principal) (*tenancy.VendorKeys, error)
}

// Verification is the vendor's verification object: the fields of its
// webhook payload, null where unknown.
type Verification struct {
	ID                  string  `json:"id"`
	IntegrationID       string  `json:"integrationId"`
	Status              string  `json:"status"`
	UniqueIdentifier    string  `json:"uniqueIdentifier"`
	DocumentType        *string `json:"documentType"`
	RequestURL          string  `json:"requestUrl"`
	HasError            bool    `json:"hasError"`
	PhoneNumberVerified bool    `json:"phoneNumberVerified"`
	VerifiedPhoneNumber string  `json:"verifiedPhoneNumber"`
	DocumentBack        fileURL `json:"documentBack"`
	DocumentFront       fileURL `json:"documentFront"`
	VerificationDetails details `json:"verificationDetails"`
	Reason              *string `json:"reason"`
}

type fileURL struct {
	URL *string `json:"url"`
}

type details struct {
	FirstName      string  `json:"firstName"`
	LastName       string  `json:"lastName"`
	DateOfBirth    *string `json:"dateOfBirth"`
	Gender         *string `json:"gender"`
	IDNumber       *string `json:"idNumber"`
	Nationality    *string `json:"nationality"`
	PlaceOfBirth   *string `json:"placeOfBirth"`
	Name           *string `json:"name"`
	Surname        *string `json:"surname"`
	ExpirationDate *string `json:"expiration_date"`
	Address        *string `json:"address"`
	Country        *string `json:"country"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// verificationOf renders a case in the vendor's words.
func verificationOf(c *kyc.Case) Verification {
	d := c.Details
	v := Verification{ID: c.ID, IntegrationID: c.IntegrationID, Status: c.Status, UniqueIdentifier: c.UniqueIdentifier,
		DocumentType: orNull(c.DocumentType), RequestURL: c.RequestURL, Reason: orNull(c.Reason),
		VerificationDetails: details{FirstName: c.FirstName, LastName: c.LastName, DateOfBirth: d.DateOfBirth, Gender: d.Gender,
			IDNumber: d.IDNumber, Nationality: d.Nationality, PlaceOfBirth: d.PlaceOfBirth, Name: d.GivenNames, Surname: d.Surname,
			ExpirationDate: d.ExpirationDate, Address: d.Address, Country: d.Country}}
	if f := c.FileOf(kyc.FileDocumentFront); f != nil {
		v.DocumentFront.URL = orNull(f.URL)
	}
	if f := c.FileOf(kyc.FileDocumentBack); f != nil {
		v.DocumentBack.URL = orNull(f.URL)
	}
	return v
}

// encrypted is the body of both verification calls.
type encrypted struct {
	PublicKey     string `json:"publicKey"`
	EncryptedData string `json:"encryptedData"`
}

// open decrypts encryptedData with the caller's key pair into dst, which
// must name the required fields.
func (h *Handler) open(r *http.Request, dst any, required ...string) (*tenancy.Principal, error) {
	var body encrypted
	if err := edge.DecodeJSON(r, &body, false); err != nil {
		return nil, err
	}
	p := edge.PrincipalOf(r.Context())
	if body.PublicKey == "" || body.EncryptedData == "" {
		return nil, fault.New(fault.MissingField, "publicKey and encryptedData are required")
	}
	if body.PublicKey != p.Integration.PublicKey {
		return nil, integrationNotFound
	}
	keys, err := h.keys.PrincipalKeys(p)
	if err != nil {
		return nil, err
	}
	plain, _, err := crypto.OpenVendorPayload(keys.PrivateKey, keys.PublicKey, body.EncryptedData, !p.Integration.Policy.RejectLegacyPayloads)
	switch {
	case errors.Is(err, crypto.ErrLegacyDisabled):
		return nil, fault.Wrap(fault.BadRequest, err, "This integration accepts only the v2 encryptedData form")
	case err != nil:
		return nil, fault.Wrap(fault.BadRequest, err, "Invalid encryptedData")
	}
	var fields map[string]any
	if json.Unmarshal(plain, &fields) != nil || json.Unmarshal(plain, dst) != nil {
		return nil, fault.New(fault.BadRequest, "Invalid encryptedData")
	}
	var missing []string
	for _, f := range required {
		if s, _ := fields[f].(string); strings.TrimSpace(s) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fault.New(fault.MissingField, "%s required in encryptedData", strings.Join(missing, ", ")+pluralAre(len(missing)))
	}
	return p, nil
}

func pluralAre(n int) string {
	if n == 1 {
		return " is"
	}
	return " are"
}

func (h *Handler) addVerification(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FirstName        string `json:"first_name"`
		LastName         string `json:"last_name"`
		Email            string `json:"email"`
		UniqueIdentifier string `json:"unique_identifier"`
		Phone            string `json:"phone"`
		DocumentType     string `json:"document_type"`
	}
	p, err := h.open(r, &in, "first_name", "last_name", "unique_identifier")
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	c, err := h.cases.Create(r.Context(), faceauth.TenantOf(p.Integration), kyc.NewCase{UniqueIdentifier: in.UniqueIdentifier,
		FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone, DocumentType: in.DocumentType,
		Source: kyc.SourceIdentityGram})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, envelope{Message: "Verification added successfully", Data: verificationOf(c)})
}

func (h *Handler) getVerification(w http.ResponseWriter, r *http.Request) {
	var in struct {
		VerificationID string `json:"verification_id"`
	}
	p, err := h.open(r, &in, "verification_id")
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	c, err := h.cases.Get(r.Context(), p.Integration.ID, in.VerificationID)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, envelope{Message: "Verification fetched successfully", Data: verificationOf(c)})
}

// Events of verification cases, by the vendor's webhook types.
const (
	EventStatus         = "status"
	EventDecision       = "decision"
	EventProofOfAddress = "proof_of_address"
)
