package tenancy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

const (
	jwtIssuer = "visage"
	// jwtLeeway tolerates clock skew between the nodes behind a load
	// balancer when checking exp and iat.
	jwtLeeway = 30 * time.Second
	// maxJWTLen refuses absurd headers before any parsing; ours are ~300
	// bytes.
	maxJWTLen = 4096
	// jwtKeyLabel names the derivation. Changing it invalidates every token.
	jwtKeyLabel = "visage jwt v1"
)

// DeriveJWTKey derives the token signing key from a master key:
// HMAC-SHA256(master secret, "visage jwt v1"). It is deterministic, so every
// node configured with the same master key signs and verifies alike, and
// one-way, so a leaked JWT key does not reveal the master key. Pass the
// current master key as Options.JWTKey and retired ones as
// Options.OldJWTKeys.
func DeriveJWTKey(masterKey crypto.Key) []byte {
	m := hmac.New(sha256.New, masterKey.Secret)
	m.Write([]byte(jwtKeyLabel))
	return m.Sum(nil)
}

// jwtClaims are the claims of a Visage token: iss "visage", sub the
// integration id, kid the API key it was obtained with (repeated in the
// header), iat, exp and a random jti.
type jwtClaims struct {
	KeyID string `json:"kid"`
	jwt.RegisteredClaims
}

// IssueJWT signs a bearer token (HS256) for a principal authenticated by API
// key, valid for Options.TokenTTL. Revoking that key revokes the token.
// A JWT principal cannot obtain a new token: that would let one stolen token
// be renewed for ever.
func (s *Service) IssueJWT(ctx context.Context, p *Principal) (token string, expires time.Time, err error) {
	if s.jwtKey == nil {
		return "", time.Time{}, ErrJWTKey
	}
	if p == nil || p.Integration == nil || p.KeyID == "" {
		return "", time.Time{}, errors.New("issue token: incomplete principal")
	}
	if p.Scheme != SchemeAPIKey {
		return "", time.Time{}, unauthorized(ReasonExchange)
	}
	now := s.now().Truncate(time.Second) // NumericDate has second precision
	expires = now.Add(s.ttl)
	claims := jwtClaims{
		KeyID: p.KeyID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    jwtIssuer,
			Subject:   p.Integration.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        base64.RawURLEncoding.EncodeToString(randomBytes(16)),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = p.KeyID
	token, err = t.SignedString(s.jwtKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	return token, expires, nil
}

// AuthenticateJWT checks a token from IssueJWT: HS256 only (alg "none",
// RS256 and the rest are refused), signature, issuer, expiry with 30 s
// leeway, and that its API key still exists unrevoked and belongs to the
// token's integration.
func (s *Service) AuthenticateJWT(ctx context.Context, token string) (*Principal, error) {
	if s.jwtKey == nil {
		return nil, ErrJWTKey
	}
	if token == "" || len(token) > maxJWTLen || !compactJWS(token) {
		return nil, unauthorized(ReasonMalformed)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		// Padded or otherwise non-canonical base64 is refused: a token has
		// one spelling, so it cannot be altered into a second valid one.
		jwt.WithStrictDecoding(),
	)
	var claims jwtClaims
	// The signature is verified before the claims, so ReasonExpired is only
	// ever reported for tokens we issued.
	t, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		return s.keySet, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, unauthorized(ReasonMalformed)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, unauthorized(ReasonExpired)
	case err != nil:
		return nil, unauthorized(ReasonInvalid)
	}
	if kid, _ := t.Header["kid"].(string); kid == "" || kid != claims.KeyID || claims.Subject == "" || claims.ID == "" {
		return nil, unauthorized(ReasonInvalid)
	}
	// A token made to live longer than any Visage issues (a forged claim
	// under a leaked signing key, or a setting since lowered) is refused.
	if claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > s.ttl {
		return nil, unauthorized(ReasonInvalid)
	}
	k, err := s.st.GetAPIKey(ctx, claims.KeyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, unauthorized(ReasonInvalid)
	case err != nil:
		return nil, fmt.Errorf("authenticate token: %w", err)
	}
	if k.IntegrationID != claims.Subject {
		return nil, unauthorized(ReasonInvalid)
	}
	return s.principal(ctx, k, SchemeJWT)
}

// compactJWS reports whether token has only the characters of the compact
// serialisation (base64url and dots). Go's base64 decoder skips line
// breaks even in strict mode, so without this a token with a newline
// inside would pass as a second spelling of a genuine one.
func compactJWS(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
