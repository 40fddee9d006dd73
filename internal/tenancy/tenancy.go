// Package tenancy manages integrations (tenants) and their credentials:
// creating an integration with its sealed secrets, issuing, rotating and
// revoking API keys, and authenticating requests by API key or by a
// short-lived JWT exchanged for one.
//
// It knows nothing of HTTP: the API layer extracts the credential from the
// request, calls one of the Authenticate methods and maps ErrUnauthorized to
// 401. Store errors (ErrNotFound, ErrInvalid, ...) pass through wrapped, so
// the same mapping that serves the other services applies here.
package tenancy

import (
	"errors"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// ErrUnauthorized is the sentinel of every authentication failure. The
// concrete error is an *AuthError saying why; test with errors.Is.
var ErrUnauthorized = errors.New("unauthorized")

// ErrJWTKey means the service was built without a usable JWT signing key
// (Options.JWTKey shorter than MinJWTKeySize). It is a configuration error,
// not an authentication failure, so the API layer should answer 500.
var ErrJWTKey = errors.New("tenancy: JWT signing key not configured")

// Reasons carried by AuthError. They are safe to show to the client: none
// tells an unknown key id apart from a wrong secret. ReasonRevoked and
// ReasonExpired are only reported once the caller has proved possession of
// the secret (or presented a token with a valid signature).
const (
	ReasonMalformed = "malformed credentials"
	ReasonInvalid   = "invalid credentials"
	ReasonRevoked   = "API key revoked"
	ReasonExpired   = "token expired"
	ReasonExchange  = "a token cannot be exchanged for another token; use the API key"
)

// AuthError is an authentication failure. It unwraps to ErrUnauthorized.
type AuthError struct {
	Reason string
}

func (e *AuthError) Error() string { return "unauthorized: " + e.Reason }

// Unwrap makes errors.Is(err, ErrUnauthorized) hold.
func (e *AuthError) Unwrap() error { return ErrUnauthorized }

func unauthorized(reason string) error { return &AuthError{Reason: reason} }

// Authentication schemes reported in Principal.Scheme.
const (
	// SchemeAPIKey: the API key id and secret, given separately
	// (AuthenticateKey) or combined as "<keyid>.<secret>" (AuthenticateToken).
	SchemeAPIKey = "api_key"
	// SchemeJWT: a bearer token issued by IssueJWT.
	SchemeJWT = "jwt"
)

// Principal is who a request acts for.
type Principal struct {
	Integration *store.Integration
	KeyID       string // the API key used, directly or to obtain the JWT
	Scheme      string // SchemeAPIKey or SchemeJWT
	// Scope is the key's (a token has its key's): store.ScopeVerify,
	// ScopeEnrol or ScopeAdmin.
	Scope string
}

// API key scopes, for the surfaces' route tables.
const (
	ScopeVerify = store.ScopeVerify
	ScopeEnrol  = store.ScopeEnrol
	ScopeAdmin  = store.ScopeAdmin
)

// Allows reports whether the principal may act where scope is required.
func (p *Principal) Allows(scope string) bool { return p != nil && store.ScopeAllows(p.Scope, scope) }

// Default policy of new integrations. Thresholds are left unset (zero): the
// face service takes them from the model manifest, so they follow the
// model in use.
const (
	DefaultMaxAttempts   = 3
	DefaultRetentionDays = 365
	// DefaultTokenTTL matches config's VISAGE_TOKEN_TTL default (900 s).
	DefaultTokenTTL = 15 * time.Minute
	// MinJWTKeySize is the shortest accepted HS256 key: as long as the hash
	// output, as RFC 7518 §3.2 requires.
	MinJWTKeySize = 32
)

// DefaultPolicy returns the policy given to integrations when
// Options.DefaultPolicy is left zero.
func DefaultPolicy() store.Policy {
	return store.Policy{MaxAttempts: DefaultMaxAttempts, RetentionDays: DefaultRetentionDays}
}

// Options tunes a Service. Zero values select the defaults.
type Options struct {
	// TokenTTL is the lifetime of tokens from IssueJWT; default 15 minutes.
	TokenTTL time.Duration
	// Now is the clock; default time.Now. Tests move it to expire tokens.
	Now func() time.Time
	// DefaultPolicy is given to new integrations; zero means DefaultPolicy().
	DefaultPolicy store.Policy
	// JWTKey signs and verifies tokens (HS256). Every node must use the
	// same key; derive it from the master key with DeriveJWTKey. Without
	// it (or shorter than MinJWTKeySize) the JWT methods fail with
	// ErrJWTKey and API keys still work.
	JWTKey []byte
	// OldJWTKeys still verify tokens (never sign): pass DeriveJWTKey of the
	// retired master keys so tokens issued before a master-key rotation stay
	// valid until they expire. Without them rotation merely makes clients
	// exchange their API key again.
	OldJWTKeys [][]byte
	// Logger receives failures that do not fail the request (recording a
	// key's last use); default slog.Default().
	Logger *slog.Logger
	// Floors are the lowest thresholds an integration may set explicitly
	// (0 still means "the model's default"): from the model manifest.
	Floors Floors
}

// Floors bound how loose an integration may make its decisions.
type Floors struct {
	MatchScore float64 // 0–100 scale
	Liveness   float64 // 0–1
}

// Service manages integrations and authenticates their requests. It is safe
// for concurrent use.
type Service struct {
	st     store.Store
	kr     *crypto.Keyring
	ttl    time.Duration
	now    func() time.Time
	policy store.Policy
	log    *slog.Logger
	floors Floors

	jwtKey []byte                 // nil when not configured
	keySet jwt.VerificationKeySet // jwtKey first, then the old keys

	dataKeys dataKeyCache
}

// New builds a Service over a migrated store and the master keyring.
func New(st store.Store, kr *crypto.Keyring, opts Options) *Service {
	if st == nil || kr == nil {
		panic("tenancy.New: nil store or keyring")
	}
	s := &Service{st: st, kr: kr, ttl: opts.TokenTTL, now: opts.Now, policy: opts.DefaultPolicy, log: opts.Logger, floors: opts.Floors}
	if s.ttl <= 0 {
		s.ttl = DefaultTokenTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if isZeroPolicy(s.policy) {
		s.policy = DefaultPolicy()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if len(opts.JWTKey) >= MinJWTKeySize {
		s.jwtKey = append([]byte(nil), opts.JWTKey...)
		s.keySet.Keys = append(s.keySet.Keys, s.jwtKey)
		for _, k := range opts.OldJWTKeys {
			if len(k) >= MinJWTKeySize {
				s.keySet.Keys = append(s.keySet.Keys, append([]byte(nil), k...))
			}
		}
	}
	return s
}

func isZeroPolicy(p store.Policy) bool {
	return p.MatchThreshold == 0 && p.LivenessThreshold == 0 && p.MaxAttempts == 0 &&
		p.RetentionDays == 0 && len(p.RequiredChallenges) == 0
}
