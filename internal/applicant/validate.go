package applicant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/fault/classify"
	"github.com/visagehq/visage/internal/store"
)

// Input is one validation attempt.
type Input struct {
	DocumentType int
	// Face is the selfie; HasFace says whether it was sent at all (an
	// empty one is sent but empty).
	Face    []byte
	HasFace bool
	// Front and Back are the document's sides (nil when not sent).
	Front, Back []byte
	HasFront    bool
	HasBack     bool
	EndeavorID  string
}

// Kinds of attempt.
const (
	KindDocumentRegistration = "document_registration"
	KindFaceRegistration     = "face_registration"
	KindAuthorization        = "authorization"
)

// Outcomes of an attempt.
const (
	Success     = "success"
	Fail        = "fail"
	InvalidData = "invalid_data"
)

// Reasons an attempt failed (machine-readable).
const (
	ReasonDocumentInvalid = "document_invalid"
	ReasonExpired         = "document_expired"
	ReasonFaceMismatch    = "face_mismatch"
	ReasonDuplicate       = "duplicate"
	ReasonSpoof           = "spoof_suspected"
	ReasonLowQuality      = "low_quality"
	ReasonNotFound        = "profile_not_among_candidates"
)

// Codes of InvalidData problems.
const (
	ProblemFrontMissing   = "document_front_missing"
	ProblemFrontInvalid   = "document_front_invalid"
	ProblemBackInvalid    = "document_back_invalid"
	ProblemNoDocumentFace = "document_face_missing"
	ProblemMRZUnreadable  = "mrz_unreadable"
	ProblemNoBarcode      = "barcode_unreadable"
	ProblemExpiryUnknown  = "expiry_unreadable"
)

// Result is one attempt's outcome. A nil check was not run.
type Result struct {
	ApplicantID  string `json:"applicant_id"`
	Kind         string `json:"kind"`
	Attempt      int    `json:"attempt"`
	MaxAttempts  int    `json:"max_attempts"`
	AttemptsLeft int    `json:"attempts_left"`
	DocumentType int    `json:"document_type"`
	Outcome      string `json:"outcome"`
	Checks       Checks `json:"checks"`
	// Document is what the document says of its holder (nil: no
	// document, or it could not be read).
	Document      *Document      `json:"document,omitempty"`
	DocumentTests []DocumentTest `json:"document_tests"`
	Problems      []Problem      `json:"problems"`
	Reasons       []string       `json:"reasons"`
	ProfileID     string         `json:"profile_id,omitempty"`
	// DuplicateOf is the face id that already holds this face.
	DuplicateOf string `json:"duplicate_of,omitempty"`
	// Similarity is the selfie against the document's photo (0–100).
	Similarity *float64 `json:"similarity,omitempty"`
	Liveness   *float64 `json:"liveness,omitempty"`
	// Threshold is the score a match had to reach: the match threshold
	// for a registration, the search threshold for an authorisation.
	Threshold   float64     `json:"threshold"`
	Candidates  []Candidate `json:"candidates,omitempty"`
	CallbackURL string      `json:"callback_url,omitempty"`
	At          time.Time   `json:"at"`
}

// Checks are the verdicts of an attempt.
type Checks struct {
	DocumentValid *bool `json:"document_valid"`
	Expired       *bool `json:"expired"`
	FaceValid     bool  `json:"face_valid"`
	AntiSpoofing  *bool `json:"anti_spoofing"` // nil when the policy leaves it out
	Quality       bool  `json:"quality"`
}

// FaceSuccess: the face part passed (valid, good quality, not a spoof).
func (c Checks) FaceSuccess() bool {
	return c.FaceValid && c.Quality && (c.AntiSpoofing == nil || *c.AntiSpoofing)
}

// DocumentSuccess: the document part passed; nil without a document.
func (c Checks) DocumentSuccess() *bool {
	if c.DocumentValid == nil {
		return nil
	}
	ok := *c.DocumentValid && c.Expired != nil && !*c.Expired
	return &ok
}

// Candidate is one 1:N hit of an authorisation.
type Candidate struct {
	ProfileID string  `json:"profile_id"`
	Score     float64 `json:"score"`
}

// DocumentTest is one check of the document.
type DocumentTest struct {
	Name   string `json:"name"`   // "mrz_check_digits", "document_type", "aamva_barcode"
	Status string `json:"status"` // "pass", "fail"
	Detail string `json:"detail,omitempty"`
}

// Problem is what made an attempt InvalidData.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func ptr[T any](v T) *T { return &v }

// Validate runs one attempt of an applicant: a registration by document
// and selfie, a registration by selfie (FaceOnly, no profile yet) or an
// authorisation (FaceOnly, with a profile). Refusals of the request
// itself (a closed or completed applicant, no attempts left, no usable
// face in the selfie) are errors and cost no attempt; the attempt's
// checks are in the Result.
func (s *Service) Validate(ctx context.Context, t faceauth.Tenant, id string, in Input) (*Result, error) {
	r, err := s.validate(ctx, t, id, in)
	return r, classify.Err(err)
}

func (s *Service) validate(ctx context.Context, t faceauth.Tenant, id string, in Input) (*Result, error) {
	row, err := s.st.GetApplicant(ctx, t.ID, id)
	if err != nil {
		return nil, notFound(err)
	}
	kind, err := kindOf(row, in.DocumentType)
	if err != nil {
		return nil, err
	}
	if err := checkState(row, kind); err != nil {
		return nil, err
	}
	if err := checkEndeavor(row, in.EndeavorID); err != nil {
		return nil, err
	}
	profile := row.ProfileID
	if kind == KindAuthorization {
		if profile, err = s.profileOf(ctx, t, row); err != nil {
			return nil, err
		}
	}
	pol := s.faces.Effective(t.Policy)
	self, err := s.selfie(ctx, t, in, pol)
	if err != nil {
		return nil, err
	}
	attempt, err := s.reserve(ctx, t.ID, id, kind, in.EndeavorID)
	if err != nil {
		return nil, err
	}
	res := &Result{ApplicantID: id, Kind: kind, Attempt: attempt, MaxAttempts: row.MaxAttempts, DocumentType: in.DocumentType,
		DocumentTests: []DocumentTest{}, Problems: []Problem{}, Reasons: []string{}, CallbackURL: row.CallbackURL,
		Checks: Checks{Quality: self.quality}}
	if !pol.SkipAntiSpoofing {
		res.Checks.AntiSpoofing = ptr(self.live)
		res.Liveness = ptr(float64(self.sel.Liveness.Score))
	}
	switch kind {
	case KindAuthorization:
		err = s.authorise(ctx, t, res, self, profile)
	default:
		err = s.register(ctx, t, row, in, res, self, pol)
	}
	if err != nil {
		s.release(ctx, t.ID, id, kind)
		return nil, err
	}
	if err := s.finish(ctx, t.ID, id, kind, res); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "applicant attempt", "integration", t.ID, "applicant", id, "kind", kind, "attempt", attempt,
		"outcome", res.Outcome, "reasons", res.Reasons)
	return res, nil
}

// kindOf is the attempt a document type makes on an applicant.
func kindOf(row *store.Applicant, docType int) (string, error) {
	if !slices.Contains(DocumentTypes, docType) {
		return "", &fault.Error{Kind: fault.Unsupported, Subject: SubjectDocumentType,
			Message: fmt.Sprintf("document type %d is not supported (accepted: 1 licence, 2 passport, 3 ID card, 10 face only)", docType)}
	}
	switch {
	case row.Purpose == store.ApplicantAuthorization:
		if docType != FaceOnly {
			return "", &fault.Error{Kind: fault.Unsupported, Subject: SubjectDocumentType,
				Message: "an authorization applicant takes a selfie only (document type 10)"}
		}
		return KindAuthorization, nil
	case docType != FaceOnly:
		return KindDocumentRegistration, nil
	case row.Status == store.ApplicantCompleted:
		return KindAuthorization, nil
	}
	return KindFaceRegistration, nil
}

// checkState refuses attempts a closed, completed or exhausted applicant
// cannot take.
func checkState(row *store.Applicant, kind string) error {
	switch {
	case row.Status == store.ApplicantClosed:
		return &fault.Error{Kind: fault.Closed, Subject: SubjectClosed, Message: fmt.Sprintf("applicant %s is closed", row.ID)}
	case kind != KindAuthorization && row.Status == store.ApplicantCompleted:
		return &fault.Error{Kind: fault.Conflict, Subject: SubjectCompleted, Message: fmt.Sprintf("applicant %s is already registered", row.ID)}
	case kind != KindAuthorization && row.Attempts >= row.MaxAttempts:
		return &fault.Error{Kind: fault.Locked, Subject: SubjectAttempts,
			Message: fmt.Sprintf("all %d registration attempts of applicant %s were used", row.MaxAttempts, row.ID)}
	case kind == KindAuthorization && row.AuthFailures >= row.MaxAttempts:
		return &fault.Error{Kind: fault.Locked, Subject: SubjectAttempts,
			Message: fmt.Sprintf("%d authorisations of applicant %s failed in a row", row.AuthFailures, row.ID)}
	}
	return nil
}

// checkEndeavor: an endeavor id, when sent, must be well formed and the
// one the applicant is bound to (the first one sent binds it).
func checkEndeavor(row *store.Applicant, endeavor string) error {
	switch {
	case endeavor == "":
		return nil
	case !printable(endeavor, 128):
		return &fault.Error{Kind: fault.BadRequest, Subject: SubjectEndeavor, Message: "the endeavor id must be 1–128 printable characters"}
	case row.EndeavorID != "" && row.EndeavorID != endeavor:
		return &fault.Error{Kind: fault.BadRequest, Subject: SubjectEndeavor, Message: "the endeavor id is not this applicant's"}
	}
	return nil
}

// profileOf is the face an authorisation must find: the applicant's own
// registration, or its subject's latest one.
func (s *Service) profileOf(ctx context.Context, t faceauth.Tenant, row *store.Applicant) (string, error) {
	profile := row.ProfileID
	if profile == "" && row.Purpose == store.ApplicantAuthorization {
		p, err := s.st.SubjectProfile(ctx, t.ID, row.Subject)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		profile = p
	}
	if profile == "" {
		return "", &fault.Error{Kind: fault.NotEnrolled, Subject: SubjectNoProfile,
			Message: fmt.Sprintf("applicant %s has no registered face", row.ID)}
	}
	f, err := s.faces.GetFace(ctx, t.ID, profile)
	switch {
	case fault.Is(err, fault.NotFound) || fault.Is(err, fault.NotEnrolled):
		return "", &fault.Error{Kind: fault.NotFound, Subject: SubjectProfileMissing, Cause: err,
			Message: fmt.Sprintf("the registered face %s of applicant %s was deleted", profile, row.ID)}
	case err != nil:
		return "", err
	case !f.Enabled || f.Templates == 0:
		return "", &fault.Error{Kind: fault.NotEnrolled, Subject: SubjectNoProfile,
			Message: fmt.Sprintf("the registered face %s of applicant %s is disabled", profile, row.ID)}
	}
	return profile, nil
}

// analysed is the selfie of an attempt.
type analysed struct {
	sel     *faceauth.Selfie
	quality bool
	live    bool
}

// selfie analyses the attempt's selfie, which must show one face.
func (s *Service) selfie(ctx context.Context, t faceauth.Tenant, in Input, pol store.Policy) (*analysed, error) {
	switch {
	case !in.HasFace:
		return nil, &fault.Error{Kind: fault.MissingField, Subject: SubjectFaceImage, Message: "the face image is required"}
	case len(in.Face) == 0:
		return nil, &fault.Error{Kind: fault.EmptyImage, Subject: SubjectFaceImage, Message: "the face image is empty"}
	}
	sel, err := s.faces.SelfieFace(ctx, t, in.Face)
	if err != nil {
		fe := fault.As(err)
		if isServer(fe.Kind) {
			return nil, err
		}
		return nil, &fault.Error{Kind: fe.Kind, Subject: SubjectFaceImage, Message: fe.Message, Problems: fe.Problems, Cause: err}
	}
	a := &analysed{sel: sel, live: sel.Liveness.Live}
	switch {
	case sel.Face.Quality == nil:
		return nil, &fault.Error{Kind: fault.Unavailable, Subject: SubjectQuality, Message: "the face's quality could not be measured"}
	case sel.Face.Liveness == nil && !pol.SkipAntiSpoofing:
		return nil, &fault.Error{Kind: fault.Unavailable, Subject: SubjectLiveness, Message: "the face's liveness could not be measured"}
	}
	a.quality = sel.Face.Quality.Usable
	return a, nil
}

func isServer(k fault.Kind) bool {
	switch k {
	case fault.Internal, fault.Integrity, fault.Busy, fault.Unavailable, fault.Conflict:
		return true
	}
	return false
}

// register runs a registration's checks and, when every one passes,
// enrols the selfie as the applicant's profile.
func (s *Service) register(ctx context.Context, t faceauth.Tenant, row *store.Applicant, in Input, res *Result, self *analysed, pol store.Policy) error {
	res.Threshold = pol.MatchThreshold
	res.Checks.FaceValid = true
	if res.Kind == KindDocumentRegistration {
		doc, err := s.readDocument(ctx, in, s.now())
		if err != nil {
			return err
		}
		res.Document, res.DocumentTests = doc.fields, doc.tests
		if len(doc.problems) > 0 {
			res.Problems = doc.problems
			res.Outcome = InvalidData
			res.Checks.FaceValid = false
			return nil
		}
		res.Checks.DocumentValid, res.Checks.Expired = ptr(doc.valid), ptr(doc.expired)
		sim, err := s.faces.CompareEmbeddings(doc.face.Embedding, self.sel.Face.Embedding)
		if err != nil {
			return err
		}
		res.Similarity = ptr(float64(sim.Score))
		res.Checks.FaceValid = float64(sim.Score) >= pol.MatchThreshold
	}
	res.Outcome = verdict(res)
	if res.Outcome != Success {
		return nil
	}
	profile := store.NewID("prf_")
	meta, _ := json.Marshal(map[string]string{"applicant_id": row.ID, "subject": row.Subject}) // strings: cannot fail
	dup := t
	dup.Policy.CheckDuplicates = true // one person, one profile, whatever the policy says of enrolments
	_, err := s.faces.Enrol(ctx, dup, profile, []faceauth.Image{{Data: in.Face, Name: "selfie"}},
		faceauth.EnrolOptions{Metadata: meta, SkipLiveness: pol.SkipAntiSpoofing})
	switch other := fault.As(err); {
	case err == nil:
		res.ProfileID = profile
	case other.Kind == fault.Duplicate && s.ownProfile(ctx, t.ID, other.Subject, row.ID):
		// This applicant's own profile, enrolled by an attempt the server
		// did not live to record: adopt it rather than fail as a duplicate.
		res.ProfileID = other.Subject
	case other.Kind == fault.Duplicate:
		res.Checks.FaceValid = false
		res.DuplicateOf = fault.As(err).Subject
		res.Outcome = Fail
		res.Reasons = append(res.Reasons, ReasonDuplicate)
	default:
		return err
	}
	return nil
}

// ownProfile reports whether faceID is a profile enrolled for applicant
// applicantID (its metadata names the applicant).
func (s *Service) ownProfile(ctx context.Context, integrationID, faceID, applicantID string) bool {
	v, err := s.faces.GetFace(ctx, integrationID, faceID)
	if err != nil {
		return false
	}
	var meta struct {
		ApplicantID string `json:"applicant_id"`
	}
	return json.Unmarshal(v.Metadata, &meta) == nil && meta.ApplicantID == applicantID
}

// verdict is Success when every check run passed, else Fail (with the
// reasons).
func verdict(res *Result) string {
	c := res.Checks
	if c.DocumentValid != nil && !*c.DocumentValid {
		res.Reasons = append(res.Reasons, ReasonDocumentInvalid)
	}
	if c.Expired != nil && *c.Expired {
		res.Reasons = append(res.Reasons, ReasonExpired)
	}
	if !c.FaceValid {
		switch res.Kind {
		case KindAuthorization:
			res.Reasons = append(res.Reasons, ReasonNotFound)
		case KindDocumentRegistration:
			res.Reasons = append(res.Reasons, ReasonFaceMismatch)
		}
	}
	if c.AntiSpoofing != nil && !*c.AntiSpoofing {
		res.Reasons = append(res.Reasons, ReasonSpoof)
	}
	if !c.Quality {
		res.Reasons = append(res.Reasons, ReasonLowQuality)
	}
	if c.FaceSuccess() && (c.DocumentValid == nil || *c.DocumentSuccess()) {
		return Success
	}
	return Fail
}

// authorise searches the integration's faces for the selfie: success
// when the applicant's profile is among the candidates.
func (s *Service) authorise(ctx context.Context, t faceauth.Tenant, res *Result, self *analysed, profile string) error {
	res.Threshold = SearchThreshold(t.Policy)
	hits, err := s.faces.SearchEmbedding(ctx, t, self.sel.Face.Embedding, MaxCandidates, res.Threshold)
	if err != nil {
		fe := fault.As(err)
		return &fault.Error{Kind: fe.Kind, Subject: SubjectSearch, Message: "the face search failed: " + fe.Message, Cause: err}
	}
	res.ProfileID = profile
	res.Candidates = []Candidate{}
	for _, h := range hits {
		res.Candidates = append(res.Candidates, Candidate{ProfileID: h.FaceID, Score: float64(h.Score)})
		if h.FaceID == profile {
			res.Checks.FaceValid = true
		}
	}
	res.Outcome = verdict(res)
	return nil
}

// reserve takes an attempt under the applicant's row lock, re-checking
// its state (a concurrent attempt may have completed or exhausted it).
func (s *Service) reserve(ctx context.Context, integrationID, id, kind, endeavor string) (int, error) {
	var n int
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		row, err := tx.GetApplicantForUpdate(ctx, integrationID, id)
		if err != nil {
			return notFound(err)
		}
		if err := checkState(row, kind); err != nil {
			return err
		}
		if err := checkEndeavor(row, endeavor); err != nil {
			return err
		}
		if row.EndeavorID == "" {
			row.EndeavorID = endeavor
		}
		if kind == KindAuthorization {
			row.AuthAttempts++
			row.AuthFailures++ // until it succeeds
			n = row.AuthAttempts
		} else {
			row.Attempts++
			n = row.Attempts
		}
		return tx.UpdateApplicant(ctx, row)
	})
	return n, err
}

// release gives back an attempt the server failed to judge.
func (s *Service) release(ctx context.Context, integrationID, id, kind string) {
	ctx = context.WithoutCancel(ctx)
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		row, err := tx.GetApplicantForUpdate(ctx, integrationID, id)
		if err != nil {
			return err
		}
		if kind == KindAuthorization {
			row.AuthAttempts, row.AuthFailures = max(0, row.AuthAttempts-1), max(0, row.AuthFailures-1)
		} else {
			row.Attempts = max(0, row.Attempts-1)
		}
		return tx.UpdateApplicant(ctx, row)
	})
	if err != nil {
		s.log.ErrorContext(ctx, "release applicant attempt", "applicant", id, "err", err)
	}
}

// finish records an attempt's outcome: a registration's success completes
// the applicant with its profile, an authorisation's clears its failures.
func (s *Service) finish(ctx context.Context, integrationID, id, kind string, res *Result) error {
	ctx = context.WithoutCancel(ctx) // the attempt was made: it must be recorded
	return s.st.InTx(ctx, func(tx store.Tx) error {
		row, err := tx.GetApplicantForUpdate(ctx, integrationID, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		res.At = now
		switch {
		case res.Outcome != Success && kind == KindAuthorization:
			res.AttemptsLeft = max(0, row.MaxAttempts-row.AuthFailures)
		case res.Outcome != Success:
			res.AttemptsLeft = max(0, row.MaxAttempts-row.Attempts)
		case kind == KindAuthorization:
			row.AuthFailures = 0
		default:
			row.Status, row.ProfileID, row.CompletedAt = store.ApplicantCompleted, res.ProfileID, &now
		}
		if row.Result, err = json.Marshal(res); err != nil {
			return err
		}
		return tx.UpdateApplicant(ctx, row)
	})
}
