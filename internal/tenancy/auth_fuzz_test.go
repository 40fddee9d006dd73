package tenancy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// The fuzz targets' tenant is built with fixed ids and secrets, not by
// CreateIntegration, so that every fuzzing process (the coordinator and
// each worker has its own database) holds the same credentials and a seed
// that authenticates in one authenticates in all.
const (
	fuzzIntegrationID = "int_fuzz00000000000000000000"
	fuzzOtherID       = "int_fuzz11111111111111111111"
	fuzzLiveKeyID     = "key_fuzzlive0000000000000000"
	fuzzRevokedKeyID  = "key_fuzzrevoked0000000000000"
	fuzzOtherKeyID    = "key_fuzzother000000000000000"
	// 43 characters of base64url, like the secrets createKey issues.
	fuzzLiveSecret    = "bGl2ZS1zZWNyZXQtbGl2ZS1zZWNyZXQtbGl2ZS1zZWM"
	fuzzRevokedSecret = "cmV2b2tlZC1zZWNyZXQtcmV2b2tlZC1zZWNyZXQtcmV"
	fuzzOtherSecret   = "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlci1"
)

var (
	fuzzNow       = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fuzzOldMaster = crypto.Key{ID: "old", Secret: bytes.Repeat([]byte{9}, 32)}
)

// newFuzzService is a Service over a fresh SQLite database holding two
// integrations and three API keys with the constants above (one revoked),
// whose clock stands still at fuzzNow.
func newFuzzService(f *testing.F) *Service {
	f.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(f.TempDir(), "visage.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	kr, err := crypto.NewKeyring(testMaster)
	if err != nil {
		f.Fatal(err)
	}
	revokedAt := fuzzNow.Add(-time.Hour)
	err = st.InTx(ctx, func(tx store.Tx) error {
		for _, id := range []string{fuzzIntegrationID, fuzzOtherID} {
			if err := tx.CreateIntegration(ctx, &store.Integration{ID: id, Name: id, Policy: DefaultPolicy()}); err != nil {
				return err
			}
		}
		for _, k := range []store.APIKey{
			{ID: fuzzLiveKeyID, IntegrationID: fuzzIntegrationID, SecretHash: hashSecret(fuzzLiveSecret)},
			{ID: fuzzRevokedKeyID, IntegrationID: fuzzIntegrationID, SecretHash: hashSecret(fuzzRevokedSecret), RevokedAt: &revokedAt},
			{ID: fuzzOtherKeyID, IntegrationID: fuzzOtherID, SecretHash: hashSecret(fuzzOtherSecret)},
		} {
			if err := tx.CreateAPIKey(ctx, &k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	return New(st, kr, Options{
		Now:        func() time.Time { return fuzzNow },
		JWTKey:     DeriveJWTKey(testMaster),
		OldJWTKeys: [][]byte{DeriveJWTKey(fuzzOldMaster)},
		TokenTTL:   10 * time.Minute,
	})
}

// FuzzAuthenticateToken gives AuthenticateToken (the x-api-key and
// ?api_key= form "<keyid>.<secret>") and AuthenticateKey (Basic) arbitrary
// strings. It asserts that neither panics; that every failure is an
// *AuthError with a documented reason, never a store error (over-long or
// invalid UTF-8 ids must not reach the database as such); that
// ReasonRevoked is reported only to the holder of the revoked key's secret;
// and that only the exact credentials of a live key authenticate, to that
// key's integration.
func FuzzAuthenticateToken(f *testing.F) {
	svc := newFuzzService(f)
	ctx := context.Background()
	live := fuzzLiveKeyID + tokenSep + fuzzLiveSecret
	if _, err := svc.AuthenticateToken(ctx, live); err != nil {
		f.Fatalf("fixture: %v", err)
	}
	f.Add(live)
	f.Add(" \t" + live + "\r\n")
	f.Add(fuzzOtherKeyID + tokenSep + fuzzOtherSecret)
	f.Add(fuzzRevokedKeyID + tokenSep + fuzzRevokedSecret)
	f.Add(fuzzRevokedKeyID + tokenSep + fuzzLiveSecret)
	f.Add(fuzzLiveKeyID + tokenSep + fuzzOtherSecret)
	f.Add(fuzzLiveKeyID + tokenSep + fuzzLiveSecret + tokenSep)
	f.Add(fuzzLiveKeyID + tokenSep + fuzzLiveSecret[:42])
	f.Add(strings.ToUpper(live))
	f.Add(fuzzLiveKeyID + ":" + fuzzLiveSecret)
	f.Add(fuzzLiveKeyID)
	f.Add(tokenSep + fuzzLiveSecret)
	f.Add(fuzzLiveKeyID + tokenSep)
	f.Add("key_\xff\xfe" + tokenSep + fuzzLiveSecret)
	f.Add("key_\x00" + tokenSep + "x")
	f.Add(strings.Repeat("k", maxKeyIDLen+1) + tokenSep + "x")
	f.Add(fuzzLiveKeyID + tokenSep + strings.Repeat("s", maxSecretLen+1))
	f.Add("")

	f.Fuzz(func(t *testing.T, token string) {
		p, err := svc.AuthenticateToken(ctx, token)
		id, secret, _ := strings.Cut(strings.TrimSpace(token), tokenSep)
		checkKeyAuth(t, "AuthenticateToken", id, secret, p, err)

		// Basic gives id and secret apart, untrimmed.
		id, secret, _ = strings.Cut(token, tokenSep)
		p, err = svc.AuthenticateKey(ctx, id, secret)
		checkKeyAuth(t, "AuthenticateKey", id, secret, p, err)
	})
}

// checkKeyAuth checks the outcome of presenting id and secret: only the
// exact credentials of a live key authenticate, to that key's integration.
func checkKeyAuth(t *testing.T, what, id, secret string, p *Principal, err error) {
	t.Helper()
	live := map[[2]string]string{
		{fuzzLiveKeyID, fuzzLiveSecret}:   fuzzIntegrationID,
		{fuzzOtherKeyID, fuzzOtherSecret}: fuzzOtherID,
	}
	integration, genuine := live[[2]string{id, secret}]
	revoked := id == fuzzRevokedKeyID && secret == fuzzRevokedSecret
	if err == nil {
		if !genuine {
			t.Fatalf("%s: authenticated credentials that are no live key's (%q, %q): %+v", what, id, secret, p)
		}
		if p == nil || p.KeyID != id || p.Integration == nil || p.Integration.ID != integration || p.Scheme != SchemeAPIKey {
			t.Fatalf("%s: principal %+v for key %s", what, p, id)
		}
		return
	}
	if p != nil {
		t.Fatalf("%s: principal with error %v", what, err)
	}
	var ae *AuthError
	if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("%s: not an authentication failure: %v", what, err)
	}
	switch ae.Reason {
	case ReasonMalformed, ReasonInvalid:
		if genuine || revoked {
			t.Fatalf("%s: genuine credentials refused: %v", what, err)
		}
	case ReasonRevoked:
		if !revoked {
			t.Fatalf("%s: %q reported without the revoked key's secret", what, ae.Reason)
		}
	default:
		t.Fatalf("%s: reason %q", what, ae.Reason)
	}
}

// fuzzSigned is a token the fuzz target knows the fate of.
type fuzzSigned struct {
	token  string
	reason string // "" when it authenticates
}

// fuzzJWT signs claims (with kid as the header's kid when not empty)
// deterministically: fixed times and jti, HS256 under key.
func fuzzJWT(f *testing.F, key []byte, kid string, claims jwtClaims) string {
	f.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		f.Fatal(err)
	}
	return s
}

func fuzzClaims(kid, sub, jti string, iat, exp time.Time) jwtClaims {
	return jwtClaims{KeyID: kid, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: jwtIssuer, Subject: sub, ID: jti,
		IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp),
	}}
}

// FuzzAuthenticateJWT gives AuthenticateJWT arbitrary strings around a
// set of tokens signed with the service's key, a retired key and foreign
// keys. It asserts no panic; every failure an *AuthError with a documented
// reason; ReasonExpired and ReasonRevoked only for a token whose header and
// claims carry a valid signature; and that nothing authenticates but the
// two genuine tokens, to their integration and key. A token counts as
// genuine when its header and claims are byte for byte those of a genuine
// token and its signature decodes to the same bytes (base64url without
// strict decoding accepts other spellings of the last character).
func FuzzAuthenticateJWT(f *testing.F) {
	svc := newFuzzService(f)
	ctx := context.Background()
	current, old := DeriveJWTKey(testMaster), DeriveJWTKey(fuzzOldMaster)
	valid := func(kid, sub, jti string) jwtClaims {
		return fuzzClaims(kid, sub, jti, fuzzNow.Add(-time.Minute), fuzzNow.Add(9*time.Minute))
	}
	foreign := bytes.Repeat([]byte{3}, 32)
	known := []fuzzSigned{
		{fuzzJWT(f, current, fuzzLiveKeyID, valid(fuzzLiveKeyID, fuzzIntegrationID, "fuzz-jti-1")), ""},
		{fuzzJWT(f, old, fuzzLiveKeyID, valid(fuzzLiveKeyID, fuzzIntegrationID, "fuzz-jti-2")), ""},
		{fuzzJWT(f, current, fuzzLiveKeyID, fuzzClaims(fuzzLiveKeyID, fuzzIntegrationID, "fuzz-jti-3", fuzzNow.Add(-2*time.Hour), fuzzNow.Add(-time.Hour))), ReasonExpired},
		{fuzzJWT(f, current, fuzzRevokedKeyID, valid(fuzzRevokedKeyID, fuzzIntegrationID, "fuzz-jti-4")), ReasonRevoked},
		{fuzzJWT(f, current, fuzzLiveKeyID, valid(fuzzLiveKeyID, fuzzOtherID, "fuzz-jti-5")), ReasonInvalid},        // key of another integration
		{fuzzJWT(f, current, "", valid(fuzzLiveKeyID, fuzzIntegrationID, "fuzz-jti-6")), ReasonInvalid},             // no kid header
		{fuzzJWT(f, current, fuzzOtherKeyID, valid(fuzzLiveKeyID, fuzzIntegrationID, "fuzz-jti-7")), ReasonInvalid}, // kid mismatch
		{fuzzJWT(f, current, fuzzLiveKeyID, valid(fuzzLiveKeyID, fuzzIntegrationID, "")), ReasonInvalid},            // no jti
		{fuzzJWT(f, current, "key_gone", valid("key_gone", fuzzIntegrationID, "fuzz-jti-8")), ReasonInvalid},        // unknown key
		{fuzzJWT(f, foreign, fuzzLiveKeyID, valid(fuzzLiveKeyID, fuzzIntegrationID, "fuzz-jti-9")), ReasonInvalid},
	}
	for _, k := range known {
		_, err := svc.AuthenticateJWT(ctx, k.token)
		var ae *AuthError
		if (k.reason == "") != (err == nil) || (err != nil && (!errors.As(err, &ae) || ae.Reason != k.reason)) {
			f.Fatalf("fixture token %s: %v, want %q", k.token, err, k.reason)
		}
		f.Add(k.token)
	}
	good := known[0].token
	dot := strings.LastIndexByte(good, '.')
	f.Add(good[:dot+1])
	f.Add(good + "=")
	f.Add(good + ".")
	f.Add(" " + good)
	f.Add(strings.Replace(good, ".", "..", 1))
	// Another spelling of the signature: its last character carries two
	// unused bits (32 bytes in 43 characters). Strict decoding refuses it.
	const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	f.Add(good[:len(good)-1] + string(b64url[strings.IndexByte(b64url, good[len(good)-1])^1]))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + fuzzLiveKeyID + `"}`))
	f.Add(none + good[strings.IndexByte(good, '.'):dot] + ".")
	rs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"` + fuzzLiveKeyID + `"}`))
	f.Add(rs + good[strings.IndexByte(good, '.'):])
	f.Add("a.b.c")
	f.Add(strings.Repeat("a", maxJWTLen+1))
	f.Add("")

	f.Fuzz(func(t *testing.T, token string) {
		p, err := svc.AuthenticateJWT(ctx, token)
		if err == nil {
			if !sameSignedToken(token, known[0].token) && !sameSignedToken(token, known[1].token) {
				t.Fatalf("authenticated a token that is not a genuine one: %q", token)
			}
			if token != known[0].token && token != known[1].token {
				t.Fatalf("authenticated another spelling of a genuine token: %q", token)
			}
			if p == nil || p.KeyID != fuzzLiveKeyID || p.Integration == nil || p.Integration.ID != fuzzIntegrationID || p.Scheme != SchemeJWT {
				t.Fatalf("principal %+v", p)
			}
			return
		}
		if p != nil {
			t.Fatalf("principal with error %v", err)
		}
		var ae *AuthError
		if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("not an authentication failure: %v", err)
		}
		switch ae.Reason {
		case ReasonMalformed, ReasonInvalid:
			// Strict decoding refuses another spelling of a genuine
			// signature (unused bits set), so only the exact token counts.
			if token == known[0].token || token == known[1].token {
				t.Fatalf("genuine token refused: %v", err)
			}
		case ReasonExpired, ReasonRevoked:
			signed := false
			for _, k := range known {
				signed = signed || (k.reason == ae.Reason && sameSigningInput(token, k.token))
			}
			if !signed {
				t.Fatalf("%q reported for a token without a valid signature: %q", ae.Reason, token)
			}
		default:
			t.Fatalf("reason %q", ae.Reason)
		}
	})
}

// sameSigningInput reports whether two compact JWTs have the same header
// and claims segments, byte for byte.
func sameSigningInput(a, b string) bool {
	i, j := strings.LastIndexByte(a, '.'), strings.LastIndexByte(b, '.')
	return i >= 0 && j >= 0 && a[:i] == b[:j]
}

// sameSignedToken reports whether a is b, up to how its signature segment
// is spelt.
func sameSignedToken(a, b string) bool {
	if !sameSigningInput(a, b) {
		return false
	}
	sa, errA := base64.RawURLEncoding.DecodeString(a[strings.LastIndexByte(a, '.')+1:])
	sb, errB := base64.RawURLEncoding.DecodeString(b[strings.LastIndexByte(b, '.')+1:])
	return errA == nil && errB == nil && bytes.Equal(sa, sb)
}
