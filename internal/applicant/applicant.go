// Package applicant is the validation-request service: a person (an
// applicant) registers once, by an ID document and a selfie or by a
// selfie alone, and then authorises by face. A registration checks the
// document (MRZ check digits, or the AAMVA barcode of a North American
// licence), its expiry, the selfie against the document's photo, the
// selfie's quality and passive liveness, and searches the integration's
// enrolled faces so one person cannot register twice; on success the face
// is enrolled and its face id is the applicant's profile. An
// authorisation searches the integration's faces 1:N and succeeds when
// the applicant's own profile is among the candidates above the
// threshold. Attempts per applicant are bounded (1–5).
//
// It speaks no vendor's words (the Validation API adapter renders it);
// every error it returns is a *fault.Error.
package applicant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/fault/classify"
	"github.com/visagehq/visage/internal/store"
)

// Document types a validation names: what the document is, and so how it
// is read. FaceOnly is no document: a registration or authorisation by
// selfie.
const (
	DocLicence  = 1  // US/Canadian driving licence or state ID: the AAMVA PDF417 barcode (back, else front)
	DocPassport = 2  // passport: the TD3 machine-readable zone
	DocIDCard   = 3  // ID card or residence permit: a TD1/TD2 machine-readable zone (front, else back)
	FaceOnly    = 10 // no document
)

// DocumentTypes lists the accepted document types.
var DocumentTypes = []int{DocLicence, DocPassport, DocIDCard, FaceOnly}

// Search bounds of an authorisation: the candidates a 1:N search returns
// and the default score they must reach on the calibrated 0–100 scale
// (the integration's policy search_threshold replaces it).
const (
	MaxCandidates          = 50
	DefaultSearchThreshold = 90
)

// SearchThreshold is a policy's authorisation threshold.
func SearchThreshold(p store.Policy) float64 {
	if p.SearchThreshold > 0 {
		return p.SearchThreshold
	}
	return DefaultSearchThreshold
}

// Subjects of this service's errors, so a surface can tell them apart
// within a kind.
const (
	SubjectFaceImage      = "applicant.face_image"      // the selfie: missing, empty, unreadable, no face, several
	SubjectDocumentType   = "applicant.document_type"   // a type not accepted, or not readable on this server
	SubjectCompleted      = "applicant.completed"       // registration of an applicant already registered
	SubjectClosed         = "applicant.closed"          // the applicant was closed
	SubjectAttempts       = "applicant.attempts"        // every attempt was used
	SubjectNoProfile      = "applicant.no_profile"      // authorisation without a registered face
	SubjectProfileMissing = "applicant.profile_missing" // the registered face was deleted
	SubjectEndeavor       = "applicant.endeavor"        // the endeavor id is malformed or not the applicant's
	SubjectSearch         = "applicant.search"          // the 1:N search failed
	SubjectQuality        = "applicant.quality"         // quality could not be measured
	SubjectLiveness       = "applicant.liveness"        // liveness could not be measured
)

// Options configure the service.
type Options struct {
	// OCR reads machine-readable zones; nil: MRZ documents are not
	// accepted on this server.
	OCR *document.Reader
	Log *slog.Logger
	Now func() time.Time
}

// Service runs validation requests.
type Service struct {
	st    store.Store
	faces *faceauth.Service
	ocr   *document.Reader
	log   *slog.Logger
	now   func() time.Time
}

// New builds the service.
func New(st store.Store, faces *faceauth.Service, opt Options) *Service {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{st: st, faces: faces, ocr: opt.OCR, log: opt.Log, now: opt.Now}
}

// SetClock replaces the clock documents' expiry is judged by (tests judge
// old specimen documents at a date they were valid).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Applicant is a validation request as the surfaces show it.
type Applicant struct {
	ID           string
	Subject      string
	Purpose      string // store.ApplicantRegistration or store.ApplicantAuthorization
	Status       string // store.ApplicantOpen, ApplicantCompleted or ApplicantClosed
	ProfileID    string // "" before a registration succeeded
	EndeavorID   string
	CallbackURL  string
	MaxAttempts  int
	Attempts     int
	AuthAttempts int
	AuthFailures int
	Last         *Result // the last attempt's outcome; nil before one
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CompletedAt  *time.Time
	ClosedAt     *time.Time
}

// New is what opening an applicant takes.
type NewApplicant struct {
	// Subject is the client's identifier of the person (optional): an
	// authorisation applicant finds the face its subject registered.
	Subject string
	// Purpose is registration (the default) or authorization (a returning
	// person, by Subject).
	Purpose string
	// MaxAttempts is 1–5; 0 takes the integration's max_attempts.
	MaxAttempts int
	EndeavorID  string
	CallbackURL string
}

// Create opens an applicant.
func (s *Service) Create(ctx context.Context, t faceauth.Tenant, n NewApplicant) (*Applicant, error) {
	a, err := s.create(ctx, t, n)
	return a, classify.Err(err)
}

func (s *Service) create(ctx context.Context, t faceauth.Tenant, n NewApplicant) (*Applicant, error) {
	n.Subject, n.EndeavorID, n.CallbackURL = strings.TrimSpace(n.Subject), strings.TrimSpace(n.EndeavorID), strings.TrimSpace(n.CallbackURL)
	switch n.Purpose {
	case "":
		n.Purpose = store.ApplicantRegistration
	case store.ApplicantRegistration, store.ApplicantAuthorization:
	default:
		return nil, fault.New(fault.BadRequest, "purpose must be registration or authorization")
	}
	if n.Subject != "" && !printable(n.Subject, 128) {
		return nil, fault.New(fault.BadRequest, "subject must be 1–128 printable characters")
	}
	if n.Purpose == store.ApplicantAuthorization && n.Subject == "" {
		return nil, fault.New(fault.MissingField, "an authorization applicant needs the subject whose registered face it authorises")
	}
	if n.EndeavorID != "" && !printable(n.EndeavorID, 128) {
		return nil, fault.New(fault.BadRequest, "endeavor_id must be 1–128 printable characters")
	}
	if n.CallbackURL != "" && (len(n.CallbackURL) > 2048 || !(strings.HasPrefix(n.CallbackURL, "https://") || strings.HasPrefix(n.CallbackURL, "http://"))) {
		return nil, fault.New(fault.BadRequest, "callback_url must be an http(s) URL of at most 2048 characters")
	}
	if n.MaxAttempts == 0 {
		n.MaxAttempts = t.Policy.MaxAttempts
	}
	if n.MaxAttempts < 1 || n.MaxAttempts > 5 {
		return nil, fault.New(fault.BadRequest, "max_attempts is 1–5")
	}
	row := &store.Applicant{ID: store.NewID("apl_"), IntegrationID: t.ID, Subject: n.Subject, Purpose: n.Purpose,
		Status: store.ApplicantOpen, EndeavorID: n.EndeavorID, CallbackURL: n.CallbackURL, MaxAttempts: n.MaxAttempts}
	if err := s.st.CreateApplicant(ctx, row); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "applicant opened", "integration", t.ID, "applicant", row.ID, "purpose", row.Purpose)
	return view(row)
}

// Get returns an applicant of the integration.
func (s *Service) Get(ctx context.Context, integrationID, id string) (*Applicant, error) {
	row, err := s.st.GetApplicant(ctx, integrationID, id)
	if err != nil {
		return nil, notFound(err)
	}
	a, err := view(row)
	return a, classify.Err(err)
}

// Close ends an applicant: no registration or authorisation is accepted
// for it any more. Closing twice is a no-op.
func (s *Service) Close(ctx context.Context, integrationID, id string) (*Applicant, error) {
	var row *store.Applicant
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if row, err = tx.GetApplicantForUpdate(ctx, integrationID, id); err != nil {
			return notFound(err)
		}
		if row.Status == store.ApplicantClosed {
			return nil
		}
		at := s.now().UTC()
		row.Status, row.ClosedAt = store.ApplicantClosed, &at
		return tx.UpdateApplicant(ctx, row)
	})
	if err != nil {
		return nil, classify.Err(err)
	}
	a, err := view(row)
	return a, classify.Err(err)
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, err, "no such applicant")
	}
	return err
}

func view(row *store.Applicant) (*Applicant, error) {
	a := &Applicant{ID: row.ID, Subject: row.Subject, Purpose: row.Purpose, Status: row.Status, ProfileID: row.ProfileID,
		EndeavorID: row.EndeavorID, CallbackURL: row.CallbackURL, MaxAttempts: row.MaxAttempts, Attempts: row.Attempts,
		AuthAttempts: row.AuthAttempts, AuthFailures: row.AuthFailures, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		CompletedAt: row.CompletedAt, ClosedAt: row.ClosedAt}
	if len(row.Result) > 0 {
		a.Last = &Result{}
		if err := json.Unmarshal(row.Result, a.Last); err != nil {
			return nil, fmt.Errorf("applicant %s result: %w", row.ID, err)
		}
	}
	return a, nil
}

// printable: 1–max bytes of valid, printable UTF-8.
func printable(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
