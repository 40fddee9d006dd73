package tenancy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/store"
)

const (
	// tokenSep joins key id and secret in the combined token. Neither key
	// ids (base32) nor secrets (base64url) contain it.
	tokenSep = "."
	// Longest key id and secret accepted; real ones are 30 and 43
	// characters. Anything longer is refused before hashing or querying.
	maxKeyIDLen  = 64
	maxSecretLen = 128
	// touchEvery bounds how often a key's LastUsedAt is written: at most
	// once a minute per key, so busy clients do not turn every read into a
	// write.
	touchEvery = time.Minute
)

// dummyHash is compared against when the key id is unknown, so that case
// does the same work as a wrong secret.
var dummyHash = hashSecret("visage: no such API key")

// AuthenticateKey checks an API key id and secret. An unknown id and a wrong
// secret fail alike (ReasonInvalid); a revoked key fails with ReasonRevoked
// only after its secret has been verified.
func (s *Service) AuthenticateKey(ctx context.Context, keyID, secret string) (*Principal, error) {
	// Invalid UTF-8 or a NUL byte would reach PostgreSQL as a text
	// parameter and fail there as a server error (503); it is simply a
	// malformed credential.
	if keyID == "" || secret == "" || len(keyID) > maxKeyIDLen || len(secret) > maxSecretLen || !utf8.ValidString(keyID) ||
		strings.IndexByte(keyID, 0) >= 0 {
		return nil, unauthorized(ReasonMalformed)
	}
	k, err := s.st.GetAPIKey(ctx, keyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		subtle.ConstantTimeCompare(hashSecret(secret), dummyHash)
		return nil, unauthorized(ReasonInvalid)
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare(hashSecret(secret), k.SecretHash) != 1 {
		return nil, unauthorized(ReasonInvalid)
	}
	return s.principal(ctx, k, SchemeAPIKey)
}

// AuthenticateToken checks the combined "<keyid>.<secret>" form that clients
// send in the x-api-key header.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*Principal, error) {
	keyID, secret, ok := strings.Cut(strings.TrimSpace(token), tokenSep)
	if !ok {
		return nil, unauthorized(ReasonMalformed)
	}
	return s.AuthenticateKey(ctx, keyID, secret)
}

// principal finishes authentication once the caller has proved possession
// of key k (its secret, or a token signed for it): it refuses a revoked
// key, loads the integration and records the use.
func (s *Service) principal(ctx context.Context, k *store.APIKey, scheme string) (*Principal, error) {
	if k.RevokedAt != nil {
		return nil, unauthorized(ReasonRevoked)
	}
	in, err := s.st.GetIntegration(ctx, k.IntegrationID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted between the two reads (keys cascade with it).
		return nil, unauthorized(ReasonInvalid)
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		// Bookkeeping only: a failed write must not fail the request.
		if err := s.st.TouchAPIKey(ctx, k.ID, now); err != nil {
			s.log.WarnContext(ctx, "record API key use", "key", k.ID, "err", err)
		}
	}
	return &Principal{Integration: in, KeyID: k.ID, Scheme: scheme, Scope: k.Scope}, nil
}
