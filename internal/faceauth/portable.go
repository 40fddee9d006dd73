package faceauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// BestImageTokenTTL is how long a best-image token may be used: long
// enough to send it from a client's back end, short enough that a leaked
// one is soon worthless. It is single-use besides.
const BestImageTokenTTL = 10 * time.Minute

// Subjects of portable-credential errors (fault.Error.Subject), so a
// surface can say which input failed.
const (
	SubjectTemplate      = "template"       // the registered (reference) template
	SubjectProbeTemplate = "probe_template" // a template sent in place of a token
	SubjectToken         = "best_image_token"
	SubjectReference     = "reference_image"
)

// IssuedTemplate is a sealed portable template and what it was made from.
type IssuedTemplate struct {
	Template  []byte
	UserID    string
	Model     string
	CreatedAt time.Time
	Liveness  *LivenessResult // nil: liveness not checked (a reference photo, an export)
	Quality   *face.Quality
}

// IssuedToken is a sealed single-use best-image token.
type IssuedToken struct {
	Token     []byte
	ExpiresAt time.Time
	Liveness  LivenessResult
	Quality   *face.Quality
}

// ValidateUserID checks the user a portable template is bound to: 2–128
// printable characters.
func ValidateUserID(id string) error {
	n := utf8.RuneCountInString(id)
	if n < 2 || len(id) > 128 || !utf8.ValidString(id) {
		return fmt.Errorf("%w: the user id must be 2–128 characters", ErrInvalidInput)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: the user id contains a non-printable character", ErrInvalidInput)
		}
	}
	return nil
}

// IssueTemplate makes a portable template of the one face in img, bound
// to userID. The image must pass the quality checks and passive
// liveness (unless skipLiveness, for a reference photo from a registry).
// Nothing is stored: the client keeps the template.
func (s *Service) IssueTemplate(ctx context.Context, t Tenant, userID string, img Image, skipLiveness bool) (*IssuedTemplate, error) {
	it, err := s.issueTemplate(ctx, s.resolve(t), userID, img, skipLiveness)
	return it, classified(err)
}

func (s *Service) issueTemplate(ctx context.Context, t Tenant, userID string, img Image, skipLiveness bool) (*IssuedTemplate, error) {
	if err := ValidateUserID(userID); err != nil {
		return nil, err
	}
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	if err := s.usable(t, p, skipLiveness); err != nil {
		return nil, &ImageError{Name: img.Name, Err: err}
	}
	var live *LivenessResult
	if !skipLiveness {
		r := s.live(t, p.face)
		live = &r
	}
	it, err := s.sealTemplateFor(ctx, t, userID, p.face.Embedding.Vector, live)
	if err != nil {
		return nil, err
	}
	it.Quality = p.face.Quality
	return it, nil
}

// ExportTemplate makes a portable template of an enrolled face (its first
// template: the most frontal capture), bound to the face id, so a client
// moving to templates it keeps itself can then erase the face here.
func (s *Service) ExportTemplate(ctx context.Context, t Tenant, faceID string) (*IssuedTemplate, error) {
	t = s.resolve(t)
	f, err := s.getFace(ctx, t.ID, faceID)
	if err != nil {
		return nil, classified(err)
	}
	if !f.Enabled {
		return nil, classified(fmt.Errorf("%w: %q", ErrFaceDisabled, faceID))
	}
	refs, err := s.templates(ctx, t.ID, f.ID)
	if err == nil && len(refs) == 0 {
		err = fmt.Errorf("%w: %q has no template for model %s", ErrFaceNotEnrolled, faceID, s.eng.EmbeddingModel())
	}
	if err != nil {
		return nil, classified(err)
	}
	it, err := s.sealTemplateFor(ctx, t, faceID, refs[0].Vector, nil)
	return it, classified(err)
}

func (s *Service) sealTemplateFor(ctx context.Context, t Tenant, userID string, vec []float32, live *LivenessResult) (*IssuedTemplate, error) {
	p := &portable{Kind: kindTemplate, Model: s.eng.EmbeddingModel(), Created: time.Now().UTC().Truncate(time.Millisecond), UserID: userID, Vector: vec}
	if live != nil {
		p.Liveness = &live.Score
	}
	raw, err := s.sealPortable(ctx, t.ID, p)
	if err != nil {
		return nil, err
	}
	return &IssuedTemplate{Template: raw, UserID: userID, Model: p.Model, CreatedAt: p.Created, Liveness: live}, nil
}

// IssueBestImageToken seals the one face in img (its embedding and passive
// liveness score, never the picture) into a short-lived single-use token,
// for a later AuthenticatePortable. A spoof still gets a token: the
// authentication reports it.
func (s *Service) IssueBestImageToken(ctx context.Context, t Tenant, img Image) (*IssuedToken, error) {
	t = s.resolve(t)
	p, err := s.oneFace(ctx, img.Data, false)
	if err != nil {
		return nil, classified(&ImageError{Name: img.Name, Err: err})
	}
	live := s.live(t, p.face)
	now := time.Now().UTC().Truncate(time.Millisecond)
	tok := &portable{Kind: kindBestImage, Model: s.eng.EmbeddingModel(), Created: now, Expires: now.Add(BestImageTokenTTL),
		Liveness: &live.Score, Vector: p.face.Embedding.Vector}
	if _, err := rand.Read(tok.ID[:]); err != nil {
		return nil, classified(fmt.Errorf("best-image token: %w", err))
	}
	raw, err := s.sealPortable(ctx, t.ID, tok)
	if err != nil {
		return nil, classified(err)
	}
	return &IssuedToken{Token: raw, ExpiresAt: tok.Expires, Liveness: live, Quality: p.face.Quality}, nil
}

func (s *Service) sealPortable(ctx context.Context, integrationID string, p *portable) ([]byte, error) {
	kr, err := s.keyring(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("seal credential: %w", err)
	}
	return sealPortable(kr, integrationID, p)
}

// openCredential opens a portable credential of kind, or fails with a
// classified error naming subject.
func (s *Service) openCredential(ctx context.Context, integrationID string, kind byte, raw []byte, subject string) (*portable, error) {
	kr, err := s.keyring(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	p, err := openPortable(kr, integrationID, s.eng.EmbeddingModel(), kind, raw)
	if err == nil {
		return p, nil
	}
	what := map[string]string{SubjectTemplate: "the template", SubjectProbeTemplate: "the template", SubjectToken: "the best-image token"}[subject]
	kindOf := fault.BadRequest
	switch {
	case errors.Is(err, errPortableForeign):
		kindOf = fault.Forbidden
	case errors.Is(err, errPortableModel):
		kindOf = fault.Unsupported
	}
	return nil, &fault.Error{Kind: kindOf, Message: what + " is " + err.Error(), Subject: subject, Cause: err}
}

// PortableAuth is one authentication against a template the client keeps.
type PortableAuth struct {
	UserID string
	// The reference: a template (Template) or a reference photo (Reference).
	Template  []byte
	Reference *Image
	// The live probe: a best-image token (Token) or a template
	// (ProbeTemplate), which carries no liveness evidence.
	Token         []byte
	ProbeTemplate []byte
}

// Outcomes of a portable authentication.
const (
	PortableAuthenticated = "authenticated"
	PortableUserMismatch  = "user_mismatch" // the template is bound to another user
	PortableNotLive       = "not_live"
	PortableNoMatch       = "no_match"
)

// PortableResult is the outcome of AuthenticatePortable.
type PortableResult struct {
	Outcome string
	Similarity
	Threshold float32
	Match     bool
	Liveness  LivenessResult
	// LivenessChecked is false when the probe was a template.
	LivenessChecked bool
	// Template is the reference template for the next authentication:
	// the one sent, or one made from the reference photo.
	Template []byte
	// BoundUser is the user the reference template is bound to.
	BoundUser string
}

// AuthenticatePortable checks that the live probe shows the person of the
// reference and is live: 1:1 and passive liveness in one call, against a
// template the client stores. A best-image token is spent here, whatever
// the outcome, so it never serves twice.
func (s *Service) AuthenticatePortable(ctx context.Context, t Tenant, req PortableAuth) (*PortableResult, error) {
	t = s.resolve(t)
	res, err := s.authenticatePortable(ctx, t, req)
	if err == nil {
		s.metrics.Verification(t.ID, res.metricOutcome())
	}
	return res, classified(err)
}

func (r *PortableResult) metricOutcome() string {
	switch r.Outcome {
	case PortableAuthenticated:
		return OutcomeVerified
	case PortableNotLive:
		return OutcomeSpoof
	}
	return OutcomeNoMatch
}

func (s *Service) authenticatePortable(ctx context.Context, t Tenant, req PortableAuth) (*PortableResult, error) {
	if err := ValidateUserID(req.UserID); err != nil {
		return nil, err
	}
	ref, err := s.reference(ctx, t, req)
	if err != nil {
		return nil, err
	}
	probe, live, err := s.portableProbe(ctx, t, req)
	if err != nil {
		return nil, err
	}
	sim, err := s.similarity(&face.Embedding{Model: probe.Model, Vector: probe.Vector}, &face.Embedding{Model: ref.Model, Vector: ref.Vector})
	if err != nil {
		return nil, err
	}
	res := &PortableResult{Similarity: sim, Threshold: float32(t.Policy.MatchThreshold), Liveness: live,
		LivenessChecked: req.Token != nil, BoundUser: ref.UserID, Template: req.Template}
	res.Match = float64(sim.Score) >= t.Policy.MatchThreshold
	if res.Template == nil {
		it, err := s.sealTemplateFor(ctx, t, req.UserID, ref.Vector, nil)
		if err != nil {
			return nil, err
		}
		res.Template = it.Template
	}
	switch {
	case ref.UserID != req.UserID:
		res.Outcome = PortableUserMismatch
	case !live.Live:
		res.Outcome = PortableNotLive
	case !res.Match:
		res.Outcome = PortableNoMatch
	default:
		res.Outcome = PortableAuthenticated
	}
	s.log.InfoContext(ctx, "portable authentication", "integration", t.ID, "outcome", res.Outcome,
		"similarity", sim.Score, "live", live.Live, "liveness_checked", res.LivenessChecked)
	return res, nil
}

// reference is the reference embedding: the template opened, or the face
// of the reference photo (no liveness: it is a document or registry photo).
func (s *Service) reference(ctx context.Context, t Tenant, req PortableAuth) (*portable, error) {
	switch {
	case req.Template != nil:
		return s.openCredential(ctx, t.ID, kindTemplate, req.Template, SubjectTemplate)
	case req.Reference != nil:
		p, err := s.oneFace(ctx, req.Reference.Data, false)
		if err != nil {
			return nil, &ImageError{Name: req.Reference.Name, Err: err}
		}
		return &portable{Kind: kindTemplate, Model: s.eng.EmbeddingModel(), UserID: req.UserID, Vector: p.face.Embedding.Vector}, nil
	}
	return nil, &fault.Error{Kind: fault.MissingField, Message: "a registered template or a reference image is required", Subject: SubjectTemplate}
}

// portableProbe opens and spends the best-image token, or opens a probe
// template (liveness then not evaluated: reported as not live).
func (s *Service) portableProbe(ctx context.Context, t Tenant, req PortableAuth) (*portable, LivenessResult, error) {
	live := LivenessResult{Threshold: float32(t.Policy.LivenessThreshold)}
	if req.Token == nil {
		if req.ProbeTemplate == nil {
			return nil, live, &fault.Error{Kind: fault.MissingField, Message: "a best-image token or a template is required", Subject: SubjectToken}
		}
		p, err := s.openCredential(ctx, t.ID, kindTemplate, req.ProbeTemplate, SubjectProbeTemplate)
		return p, live, err
	}
	p, err := s.openCredential(ctx, t.ID, kindBestImage, req.Token, SubjectToken)
	if err != nil {
		return nil, live, err
	}
	if time.Now().After(p.Expires) {
		return nil, live, &fault.Error{Kind: fault.Expired, Message: fmt.Sprintf("the best-image token expired at %s", p.Expires.Format(time.RFC3339)), Subject: SubjectToken}
	}
	// Spent before use, and even if the client hangs up now: a token that
	// reached the comparison never serves again.
	err = s.st.SpendToken(context.WithoutCancel(ctx), t.ID, fmt.Sprintf("%x", p.ID), p.Expires)
	if errors.Is(err, store.ErrConflict) {
		return nil, live, &fault.Error{Kind: fault.Closed, Message: "the best-image token was already used", Subject: SubjectToken}
	}
	if err != nil {
		return nil, live, err
	}
	if p.Liveness != nil {
		live.Score = round4(*p.Liveness)
		live.Live = float64(*p.Liveness) >= t.Policy.LivenessThreshold
	}
	return p, live, nil
}
