// Package kyc is the identity-verification service: a case per person
// (ID document plus selfie photo or selfie video), its status lifecycle,
// the checks run on a submission (face on the document against the selfie,
// passive liveness, motion and identity across a video, the MRZ and its
// check digits, expiry, age, proof of address), the decision with its
// reasons, operator review, timers (expiry, abandonment) and retention.
// It speaks no vendor's words: the vendor adapters render its cases and
// encode its events. Every error it returns is a *fault.Error.
package kyc

import (
	"time"
)

// Statuses of a case, as the Identity Gram document names them (they are
// also Visage's own).
const (
	StatusNotStarted  = "Not Started"
	StatusStarted     = "Started"
	StatusSubmitted   = "Submitted"
	StatusExpired     = "Expired"
	StatusAbandoned   = "Abandoned"
	StatusDeclined    = "Declined"
	StatusApproved    = "Approved"
	StatusUnderReview = "Under Review"
)

// Statuses lists every status.
var Statuses = []string{StatusNotStarted, StatusStarted, StatusSubmitted, StatusExpired, StatusAbandoned,
	StatusDeclined, StatusApproved, StatusUnderReview}

// next is the lifecycle: the statuses each one may move to.
var next = map[string][]string{
	StatusNotStarted:  {StatusStarted, StatusExpired},
	StatusStarted:     {StatusSubmitted, StatusAbandoned},
	StatusSubmitted:   {StatusApproved, StatusDeclined, StatusUnderReview},
	StatusUnderReview: {StatusApproved, StatusDeclined},
}

// CanMove reports whether the lifecycle allows from → to.
func CanMove(from, to string) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Final reports whether a status ends the case.
func Final(status string) bool { return len(next[status]) == 0 }

// Document types a case may name.
const (
	DocPassport      = "Passport"
	DocLicense       = "License"
	DocAddressPermit = "Address Permit"
	DocProofAddress  = "Proof Address"
)

// DocumentTypes lists them.
var DocumentTypes = []string{DocPassport, DocLicense, DocAddressPermit, DocProofAddress}

// File kinds.
const (
	FileDocumentFront = "document_front"
	FileDocumentBack  = "document_back"
	FileSelfie        = "selfie"
	FileSelfieVideo   = "selfie_video"
)

// Sources: the surface that opened a case.
const (
	SourceNative       = "native"
	SourceIdentityGram = "identitygram"
	SourceIVAPI        = "ivapi"
)

// Case is a verification case as the surfaces show it.
type Case struct {
	ID               string
	IntegrationID    string
	UniqueIdentifier string
	FirstName        string
	LastName         string
	Email            string
	Phone            string
	DocumentType     string
	Status           string
	Reason           string // machine-readable; "" when none
	Source           string
	ExternalID       string
	RequestURL       string // the hosted page's link
	Attempts         int
	Results          *Results // nil before a submission was processed
	Details          Details
	Decision         *OperatorReview // the operator's, when one decided
	Files            []File
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ExpiresAt        time.Time
	StartedAt        *time.Time
	SubmittedAt      *time.Time
	DecidedAt        *time.Time
}

// File is one stored file of a case, with a capability URL to fetch it
// (valid until the file is purged).
type File struct {
	ID          string
	Kind        string
	FileName    string
	ContentType string
	Size        int64
	URL         string
	Purged      bool
	CreatedAt   time.Time
}

// FileOf returns the case's newest file of a kind, or nil.
func (c *Case) FileOf(kind string) *File {
	for i := len(c.Files) - 1; i >= 0; i-- {
		if c.Files[i].Kind == kind {
			return &c.Files[i]
		}
	}
	return nil
}

// Details are the holder's data read from the document; a nil field is
// unknown.
type Details struct {
	DateOfBirth    *string `json:"date_of_birth,omitempty"` // YYYY-MM-DD
	Gender         *string `json:"gender,omitempty"`        // M, F, X
	IDNumber       *string `json:"id_number,omitempty"`
	Nationality    *string `json:"nationality,omitempty"`
	GivenNames     *string `json:"given_names,omitempty"`
	Surname        *string `json:"surname,omitempty"`
	ExpirationDate *string `json:"expiration_date,omitempty"` // YYYY-MM-DD
	Country        *string `json:"country,omitempty"`         // issuing state
	Address        *string `json:"address,omitempty"`
	PlaceOfBirth   *string `json:"place_of_birth,omitempty"`
	Age            *int    `json:"age,omitempty"`
}

// OperatorReview is an operator's decision on a case Under Review.
type OperatorReview struct {
	Approved bool      `json:"approved"`
	Note     string    `json:"note"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}
