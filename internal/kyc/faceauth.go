package kyc

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// Face authentication by a completed identification: a person whose case
// was approved may later prove by face alone that they are that person.
// The reference is the face enrolled under the case's unique identifier;
// when there is none yet, the case's selfie (or, without one, its
// document photo) becomes it the first time a session is opened.

// AuthKind says what a subject can do.
type AuthKind int

const (
	// AuthIdentify: the person must first complete an identification (no
	// approved case, or its files are gone and no face is enrolled).
	AuthIdentify AuthKind = iota
	// AuthByFace: the person can authenticate by face.
	AuthByFace
)

// AuthSubject is what a subject reference (a case id, a case's external
// id, or a face id) resolves to.
type AuthSubject struct {
	Kind   AuthKind
	FaceID string // the face that authenticates (or would, once enrolled)
	Case   *Case  // the case the reference named; nil for a face id
}

// ResolveAuthSubject resolves ref for face authentication. It fails with
// NotFound when ref names neither a case nor a face of the integration.
func (s *Service) ResolveAuthSubject(ctx context.Context, t faceauth.Tenant, ref string) (*AuthSubject, error) {
	c, err := s.caseByRef(ctx, t.ID, ref)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	if c == nil {
		ok, err := s.faces.HasEnrolledFace(ctx, t, ref)
		if err != nil {
			return nil, err
		}
		if _, gerr := s.faces.GetFace(ctx, t.ID, ref); gerr != nil && !ok {
			return nil, fault.New(fault.NotFound, "no identification or face %q", ref)
		}
		sub := &AuthSubject{FaceID: ref}
		if ok {
			sub.Kind = AuthByFace
		}
		return sub, nil
	}
	sub := &AuthSubject{FaceID: c.UniqueIdentifier, Case: c}
	if c.Status != StatusApproved {
		return sub, nil
	}
	ok, err := s.faces.HasEnrolledFace(ctx, t, c.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if ok || referenceFile(c) != nil {
		sub.Kind = AuthByFace
	}
	return sub, nil
}

func (s *Service) caseByRef(ctx context.Context, integrationID, ref string) (*Case, error) {
	c, err := s.Get(ctx, integrationID, ref)
	if fault.Is(err, fault.NotFound) {
		c, err = s.GetByExternalID(ctx, integrationID, ref)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// referenceFile is the case's file to enrol as the reference face: the
// selfie photo, else the document's front; nil when purged or absent.
func referenceFile(c *Case) *File {
	for _, kind := range []string{FileSelfie, FileDocumentFront} {
		for i := range c.Files {
			if f := &c.Files[i]; f.Kind == kind && !f.Purged {
				return f
			}
		}
	}
	return nil
}

// EnsureAuthFace makes sure an approved case's person has a reference
// face, enrolling the case's selfie (or document photo) when none is
// enrolled yet. Liveness is not asked again of a photo the case already
// checked. It returns the face id to authenticate.
func (s *Service) EnsureAuthFace(ctx context.Context, t faceauth.Tenant, sub *AuthSubject) (string, error) {
	if sub.Kind != AuthByFace {
		return "", fault.New(fault.NotEnrolled, "this person must first complete an identification")
	}
	ok, err := s.faces.HasEnrolledFace(ctx, t, sub.FaceID)
	if err != nil || ok || sub.Case == nil {
		return sub.FaceID, err
	}
	f := referenceFile(sub.Case)
	if f == nil {
		return "", fault.New(fault.NotEnrolled, "the identification's photos were deleted: identify again")
	}
	data, err := s.FileData(ctx, t.ID, f.ID)
	if err != nil {
		return "", err
	}
	meta, _ := json.Marshal(map[string]string{"source": "verification", "verification_id": sub.Case.ID, "file": f.Kind})
	img := []faceauth.Image{{Data: data.Data, Name: f.Kind}}
	opt := faceauth.EnrolOptions{SkipLiveness: true, Metadata: meta}
	_, err = s.faces.Enrol(ctx, t, sub.FaceID, img, opt)
	if fault.Is(err, fault.AlreadyEnrolled) {
		_, err = s.faces.AddImages(ctx, t, sub.FaceID, img, opt)
	}
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		s.log.WarnContext(ctx, "face authentication: enrolling the case's photo failed", "integration", t.ID,
			"verification", sub.Case.ID, "file", f.Kind, "err", err)
	}
	return sub.FaceID, err
}
