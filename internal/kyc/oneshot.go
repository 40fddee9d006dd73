package kyc

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// CreateAndSubmit opens a case and submits it in one call, as APIs that
// take the files with the person's details do (the Identity Verification
// API). A submission refused for its files removes the case again, so a
// failed call leaves nothing behind.
func (s *Service) CreateAndSubmit(ctx context.Context, t faceauth.Tenant, n NewCase, sub Submission) (*Case, error) {
	if err := complete(n.DocumentType, sub); err != nil {
		return nil, err
	}
	c, err := s.Create(ctx, t, n)
	if err != nil {
		return nil, err
	}
	out, err := s.Submit(ctx, t, c.ID, sub)
	if err != nil {
		if derr := s.st.DeleteVerification(context.WithoutCancel(ctx), t.ID, c.ID); derr != nil {
			s.log.ErrorContext(ctx, "remove refused verification", "verification", c.ID, "err", derr)
		}
		return nil, err
	}
	return out, nil
}

// PageClaims are what a hosted page token carries: who opened the page,
// for whom.
type PageClaims struct {
	IntegrationID    string `json:"i"`
	UniqueIdentifier string `json:"u"`
	Email            string `json:"e,omitempty"`
	Phone            string `json:"p,omitempty"`
	Expires          int64  `json:"x"`
}

// pageTokenTTL: long enough to record a video and photograph a document.
const pageTokenTTL = time.Hour

// PageToken signs claims for a hosted page opened with an API key, so the
// page submits with the token and never holds the key.
func (s *Service) PageToken(c PageClaims) string {
	c.Expires = s.now().Add(pageTokenTTL).Unix()
	body, _ := json.Marshal(c) // plain strings and a number: cannot fail
	b := base64.RawURLEncoding.EncodeToString(body)
	return "vpt_" + b + "." + s.mac("page", b)
}

// OpenPageToken checks a page token.
func (s *Service) OpenPageToken(token string) (*PageClaims, error) {
	rest, ok := strings.CutPrefix(token, "vpt_")
	b, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(token) > 2048 || !hmac.Equal([]byte(sig), []byte(s.mac("page", b))) {
		return nil, fault.New(fault.Unauthorized, "invalid session token")
	}
	body, err := base64.RawURLEncoding.DecodeString(b)
	var c PageClaims
	if err != nil || json.Unmarshal(body, &c) != nil {
		return nil, fault.New(fault.Unauthorized, "invalid session token")
	}
	if s.now().Unix() > c.Expires {
		return nil, fault.New(fault.Expired, "this page has expired; open the verification link again")
	}
	return &c, nil
}

// Integration returns a case's or a page's integration (for adapters that
// hold only a token).
func (s *Service) Integration(ctx context.Context, id string) (*store.Integration, error) {
	in, err := s.st.GetIntegration(ctx, id)
	return in, fail(err)
}

// CaseOfLink returns the case a hosted link token names, or NotFound.
func (s *Service) CaseOfLink(ctx context.Context, token string) (*Case, error) {
	id, ok := s.caseOfToken(token)
	if !ok {
		return nil, fault.New(fault.NotFound, "no such verification link")
	}
	v, err := s.st.GetVerificationByID(ctx, id)
	if err != nil {
		return nil, notFound(err)
	}
	c, err := s.view(ctx, v, nil)
	return c, fail(err)
}
