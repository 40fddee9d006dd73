package tenancy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc    *Service
	st     store.Store
	clock  *clock
	dbPath string
	jwtKey []byte
}

var testMaster = crypto.Key{ID: "test", Secret: bytes.Repeat([]byte{7}, 32)}

func newFixture(t *testing.T, mod ...func(*Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "visage.db")
	st, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	kr, err := crypto.NewKeyring(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	opts := Options{Now: c.Now, JWTKey: DeriveJWTKey(testMaster), TokenTTL: 10 * time.Minute}
	for _, m := range mod {
		m(&opts)
	}
	return &fixture{svc: New(st, kr, opts), st: st, clock: c, dbPath: path, jwtKey: opts.JWTKey}
}

// createWithJWT creates an integration and a bearer token for its key.
func (f *fixture) createWithJWT(t *testing.T, name string) (*Created, string) {
	t.Helper()
	c := f.create(t, name)
	p, err := f.svc.AuthenticateToken(context.Background(), c.Key.Token)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := f.svc.IssueJWT(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

func (f *fixture) create(t *testing.T, name string) *Created {
	t.Helper()
	c, err := f.svc.CreateIntegration(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var ae *AuthError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) {
		t.Fatalf("got %v, want ErrUnauthorized (%s)", err, reason)
	}
	if ae.Reason != reason {
		t.Fatalf("reason %q, want %q", ae.Reason, reason)
	}
}

func TestCreateAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "  Acme Bank ")
	in := c.Integration
	if in.Name != "Acme Bank" || !strings.HasPrefix(in.ID, "int_") || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(in.PublicKey) {
		t.Fatalf("integration %+v", in)
	}
	// Thresholds unset: they follow the model manifest.
	if p := in.Policy; p.MatchThreshold != 0 || p.LivenessThreshold != 0 || p.MaxAttempts != 3 || p.RetentionDays != 365 {
		t.Fatalf("policy %+v", p)
	}
	if c.Key.Token != c.Key.KeyID+"."+c.Key.Secret || c.Key.IntegrationID != in.ID {
		t.Fatalf("key %+v", c.Key)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(c.Key.Secret); err != nil || len(raw) != 32 {
		t.Fatalf("secret %q: %d bytes, %v", c.Key.Secret, len(raw), err)
	}

	p, err := f.svc.AuthenticateKey(ctx, c.Key.KeyID, c.Key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Integration.ID != in.ID || p.KeyID != c.Key.KeyID || p.Scheme != SchemeAPIKey {
		t.Fatalf("principal %+v", p)
	}
	p, err = f.svc.AuthenticateToken(ctx, c.Key.Token)
	if err != nil || p.Integration.ID != in.ID || p.Scheme != SchemeAPIKey {
		t.Fatalf("token: %+v, %v", p, err)
	}

	tok, exp, err := f.svc.IssueJWT(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(10 * time.Minute); !exp.Equal(want) {
		t.Fatalf("expires %v, want %v", exp, want)
	}
	jp, err := f.svc.AuthenticateJWT(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if jp.Integration.ID != in.ID || jp.KeyID != c.Key.KeyID || jp.Scheme != SchemeJWT {
		t.Fatalf("JWT principal %+v", jp)
	}
	// The token carries the documented claims and header.
	var claims jwtClaims
	pt, _, err := jwt.NewParser().ParseUnverified(tok, &claims)
	if err != nil {
		t.Fatal(err)
	}
	if pt.Header["alg"] != "HS256" || pt.Header["kid"] != c.Key.KeyID || claims.KeyID != c.Key.KeyID ||
		claims.Issuer != "visage" || claims.Subject != in.ID || claims.ID == "" ||
		!claims.IssuedAt.Equal(f.clock.Now()) || !claims.ExpiresAt.Equal(exp) {
		t.Fatalf("header %v claims %+v", pt.Header, claims)
	}
	// A token cannot be exchanged for a fresh one.
	_, _, err = f.svc.IssueJWT(ctx, jp)
	wantReason(t, err, ReasonExchange)

	aesKey, hookSecret, err := f.svc.OpenSecrets(in)
	if err != nil {
		t.Fatal(err)
	}
	if base64.StdEncoding.EncodeToString(aesKey) != c.AESKey || len(aesKey) != 32 {
		t.Fatalf("AES key %x does not match %s", aesKey, c.AESKey)
	}
	if string(hookSecret) != c.WebhookSecret || !strings.HasPrefix(c.WebhookSecret, "whsec_") {
		t.Fatalf("webhook secret %q, want %q", hookSecret, c.WebhookSecret)
	}

	// The stored row opens the same way.
	got, err := f.st.GetIntegration(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _, err := f.svc.OpenSecrets(got); err != nil || !bytes.Equal(k2, aesKey) {
		t.Fatalf("reopen from store: %v", err)
	}
}

func TestAuthenticateFailures(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "acme")

	// Change the last character (to "A", or to "B" when it is an "A"
	// already: one secret in 64 ends so, which made this test flaky).
	last := "A"
	if strings.HasSuffix(c.Key.Secret, "A") {
		last = "B"
	}
	_, errWrong := f.svc.AuthenticateKey(ctx, c.Key.KeyID, c.Key.Secret[:len(c.Key.Secret)-1]+last)
	wantReason(t, errWrong, ReasonInvalid)
	_, errUnknown := f.svc.AuthenticateKey(ctx, store.NewID("key_"), c.Key.Secret)
	wantReason(t, errUnknown, ReasonInvalid)
	if errWrong.Error() != errUnknown.Error() {
		t.Fatalf("unknown key and wrong secret are distinguishable: %q vs %q", errWrong, errUnknown)
	}
	// Another integration's secret does not open this key.
	other := f.create(t, "other")
	_, err := f.svc.AuthenticateKey(ctx, c.Key.KeyID, other.Key.Secret)
	wantReason(t, err, ReasonInvalid)

	for name, tok := range map[string]string{
		"empty":        "",
		"no separator": c.Key.KeyID + c.Key.Secret,
		"no secret":    c.Key.KeyID + ".",
		"no key id":    "." + c.Key.Secret,
		"huge secret":  c.Key.KeyID + "." + strings.Repeat("a", 10000),
	} {
		_, err := f.svc.AuthenticateToken(ctx, tok)
		if !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	_, err = f.svc.AuthenticateToken(ctx, c.Key.KeyID+".x"+c.Key.Secret)
	wantReason(t, err, ReasonInvalid)
	for _, tok := range []string{"", "abc", "a.b", "a.b.c", strings.Repeat("x", 5000)} {
		if _, err := f.svc.AuthenticateJWT(ctx, tok); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("JWT %q: got %v", tok, err)
		}
	}
}

func TestRevokedKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, tok := f.createWithJWT(t, "acme")
	if err := f.svc.RevokeKey(ctx, c.Integration.ID, c.Key.KeyID); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.AuthenticateKey(ctx, c.Key.KeyID, c.Key.Secret)
	wantReason(t, err, ReasonRevoked)
	_, err = f.svc.AuthenticateToken(ctx, c.Key.Token)
	wantReason(t, err, ReasonRevoked)
	_, err = f.svc.AuthenticateJWT(ctx, tok)
	wantReason(t, err, ReasonRevoked)
	// A wrong secret for a revoked key says nothing about revocation.
	_, err = f.svc.AuthenticateKey(ctx, c.Key.KeyID, "nope")
	wantReason(t, err, ReasonInvalid)

	// Revoking twice is fine; a key of another integration is not found.
	if err := f.svc.RevokeKey(ctx, c.Integration.ID, c.Key.KeyID); err != nil {
		t.Fatal(err)
	}
	other := f.create(t, "other")
	if err := f.svc.RevokeKey(ctx, other.Integration.ID, c.Key.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant revoke: %v", err)
	}
	if err := f.svc.RevokeKey(ctx, c.Integration.ID, other.Key.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant revoke: %v", err)
	}
	if _, err := f.svc.AuthenticateToken(ctx, other.Key.Token); err != nil {
		t.Fatalf("other integration's key affected: %v", err)
	}
}

func TestJWTExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, tok := f.createWithJWT(t, "acme")
	f.clock.Advance(10*time.Minute + 29*time.Second) // inside the leeway
	if _, err := f.svc.AuthenticateJWT(ctx, tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	f.clock.Advance(2 * time.Second)
	_, err := f.svc.AuthenticateJWT(ctx, tok)
	wantReason(t, err, ReasonExpired)

	// A token "issued" well in the future is refused too (clock skew bound).
	f.clock.Advance(-time.Hour)
	_, err = f.svc.AuthenticateJWT(ctx, tok)
	wantReason(t, err, ReasonInvalid)
}

func TestJWTForgeries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "acme")
	other := f.create(t, "other")
	now := f.clock.Now()
	claims := func(kid, sub string) jwtClaims {
		return jwtClaims{KeyID: kid, RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "visage", Subject: sub, ID: "j1",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		}}
	}
	sign := func(m jwt.SigningMethod, cl jwtClaims, headerKID string, key any) string {
		t.Helper()
		tk := jwt.NewWithClaims(m, cl)
		tk.Header["kid"] = headerKID
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := claims(c.Key.KeyID, c.Integration.ID)
	// Sanity: the real key with good claims is accepted.
	if _, err := f.svc.AuthenticateJWT(ctx, sign(jwt.SigningMethodHS256, good, c.Key.KeyID, f.jwtKey)); err != nil {
		t.Fatalf("hand-made valid token: %v", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherMaster := crypto.Key{ID: "x", Secret: bytes.Repeat([]byte{8}, 32)}
	wrongIssuer := good
	wrongIssuer.Issuer = "evil"
	noExp := good
	noExp.ExpiresAt = nil
	noIat := good
	noIat.IssuedAt = nil
	// Signed with the real key but made to live a year: longer than any
	// token the service issues.
	longLived := good
	longLived.ExpiresAt = jwt.NewNumericDate(now.Add(365 * 24 * time.Hour))

	valid := sign(jwt.SigningMethodHS256, good, c.Key.KeyID, f.jwtKey)
	parts := strings.Split(valid, ".")
	forgedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(`{"kid":"`+other.Key.KeyID+`","iss":"visage","sub":"`+other.Integration.ID+`","exp":9999999999,"iat":1,"jti":"j"}`)) + "." + parts[2]

	cases := map[string]string{
		"forged signature":     sign(jwt.SigningMethodHS256, good, c.Key.KeyID, DeriveJWTKey(otherMaster)),
		"alg none":             sign(jwt.SigningMethodNone, good, c.Key.KeyID, jwt.UnsafeAllowNoneSignatureType),
		"alg none, no sig":     base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"`+c.Key.KeyID+`"}`)) + "." + parts[1] + ".",
		"RS256":                sign(jwt.SigningMethodRS256, good, c.Key.KeyID, rsaKey),
		"HS512 with right key": sign(jwt.SigningMethodHS512, good, c.Key.KeyID, f.jwtKey),
		"payload swapped":      forgedPayload,
		"header kid mismatch":  sign(jwt.SigningMethodHS256, good, other.Key.KeyID, f.jwtKey),
		"no header kid":        sign(jwt.SigningMethodHS256, good, "", f.jwtKey),
		"sub of other tenant":  sign(jwt.SigningMethodHS256, claims(c.Key.KeyID, other.Integration.ID), c.Key.KeyID, f.jwtKey),
		"unknown key":          sign(jwt.SigningMethodHS256, claims("key_nope", c.Integration.ID), "key_nope", f.jwtKey),
		"wrong issuer":         sign(jwt.SigningMethodHS256, wrongIssuer, c.Key.KeyID, f.jwtKey),
		"no exp":               sign(jwt.SigningMethodHS256, noExp, c.Key.KeyID, f.jwtKey),
		"no iat":               sign(jwt.SigningMethodHS256, noIat, c.Key.KeyID, f.jwtKey),
		"lifetime over ttl":    sign(jwt.SigningMethodHS256, longLived, c.Key.KeyID, f.jwtKey),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.AuthenticateJWT(ctx, tok)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("got %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestJWTKeyRotation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, tok := f.createWithJWT(t, "acme")
	newMaster := crypto.Key{ID: "new", Secret: bytes.Repeat([]byte{9}, 32)}
	kr, _ := crypto.NewKeyring(newMaster, testMaster)
	rotated := New(f.st, kr, Options{Now: f.clock.Now, JWTKey: DeriveJWTKey(newMaster), OldJWTKeys: [][]byte{DeriveJWTKey(testMaster)}})
	if _, err := rotated.AuthenticateJWT(ctx, tok); err != nil {
		t.Fatalf("token signed with the old key: %v", err)
	}
	dropped := New(f.st, kr, Options{Now: f.clock.Now, JWTKey: DeriveJWTKey(newMaster)})
	_, err := dropped.AuthenticateJWT(ctx, tok)
	wantReason(t, err, ReasonInvalid)
}

func TestJWTNotConfigured(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) { o.JWTKey = []byte("short") })
	c := f.create(t, "acme")
	p, err := f.svc.AuthenticateToken(ctx, c.Key.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.IssueJWT(ctx, p); !errors.Is(err, ErrJWTKey) {
		t.Fatalf("issue: %v", err)
	}
	if _, err := f.svc.AuthenticateJWT(ctx, "a.b.c"); !errors.Is(err, ErrJWTKey) || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("authenticate: %v", err)
	}
}

func TestDeriveJWTKeyIsStable(t *testing.T) {
	// Pinned: a change here logs every client out on upgrade.
	got := hex.EncodeToString(DeriveJWTKey(crypto.Key{ID: "z", Secret: make([]byte, 32)}))
	if got != "9b8deb338d4ae2c290b295f714a721fcbd380cb5705a2332b61caa4bd3ba26fc" {
		t.Fatalf("DeriveJWTKey(zero key) = %s", got)
	}
}

func TestSecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "acme")
	other := f.create(t, "other")
	aesKey, err := base64.StdEncoding.DecodeString(c.AESKey)
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sealedAES, sealedHook []byte
	if err := db.QueryRowContext(ctx, `SELECT sealed_aes_key, sealed_webhook_secret FROM integrations WHERE id = ?`,
		c.Integration.ID).Scan(&sealedAES, &sealedHook); err != nil {
		t.Fatal(err)
	}
	if len(sealedAES) < 32 || bytes.Contains(sealedAES, aesKey) || bytes.Contains(sealedAES, []byte(c.AESKey)) {
		t.Fatalf("AES key stored in the clear: %x", sealedAES)
	}
	if len(sealedHook) == 0 || bytes.Contains(sealedHook, []byte(c.WebhookSecret)) {
		t.Fatalf("webhook secret stored in the clear")
	}
	var hash []byte
	if err := db.QueryRowContext(ctx, `SELECT secret_hash FROM api_keys WHERE id = ?`, c.Key.KeyID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 || bytes.Contains(hash, []byte(c.Key.Secret)) {
		t.Fatalf("secret_hash %x", hash)
	}

	// Sealed values are bound to their integration and purpose.
	swapped := *c.Integration
	swapped.SealedAESKey = other.Integration.SealedAESKey
	if _, _, err := f.svc.OpenSecrets(&swapped); !errors.Is(err, crypto.ErrTampered) {
		t.Fatalf("other integration's AES key opened: %v", err)
	}
	crossed := *c.Integration
	crossed.SealedAESKey, crossed.SealedWebhookSecret = c.Integration.SealedWebhookSecret, c.Integration.SealedAESKey
	if _, _, err := f.svc.OpenSecrets(&crossed); !errors.Is(err, crypto.ErrTampered) {
		t.Fatalf("secrets opened for the wrong purpose: %v", err)
	}
	if _, _, err := f.svc.OpenSecrets(&store.Integration{ID: "int_x"}); err == nil {
		t.Fatal("integration without secrets opened")
	}
}

func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "acme")

	k2, err := f.svc.RotateKey(ctx, c.Integration.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if k2.KeyID == c.Key.KeyID || len(k2.Revoked) != 0 {
		t.Fatalf("rotate: %+v", k2)
	}
	for _, tok := range []string{c.Key.Token, k2.Token} {
		if _, err := f.svc.AuthenticateToken(ctx, tok); err != nil {
			t.Fatalf("after rotate without revoke: %v", err)
		}
	}

	k3, err := f.svc.RotateKey(ctx, c.Integration.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(k3.Revoked) != 2 {
		t.Fatalf("revoked %v, want both older keys", k3.Revoked)
	}
	for _, tok := range []string{c.Key.Token, k2.Token} {
		_, err := f.svc.AuthenticateToken(ctx, tok)
		wantReason(t, err, ReasonRevoked)
	}
	if _, err := f.svc.AuthenticateToken(ctx, k3.Token); err != nil {
		t.Fatalf("new key: %v", err)
	}

	keys, err := f.svc.ListKeys(ctx, c.Integration.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("%d keys", len(keys))
	}
	for _, k := range keys {
		if k.SecretHash != nil {
			t.Fatal("ListKeys leaks the secret hash")
		}
		if (k.RevokedAt == nil) != (k.ID == k3.KeyID) {
			t.Fatalf("key %s revoked=%v", k.ID, k.RevokedAt)
		}
	}

	if _, err := f.svc.RotateKey(ctx, "int_nope", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotate unknown integration: %v", err)
	}
	if _, err := f.svc.ListKeys(ctx, "int_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("list keys of unknown integration: %v", err)
	}
}

func TestTouchAtMostOncePerMinute(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "acme")
	lastUsed := func() *time.Time {
		t.Helper()
		k, err := f.st.GetAPIKey(ctx, c.Key.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		return k.LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("new key already used")
	}
	t0 := f.clock.Now()
	auth := func() {
		t.Helper()
		if _, err := f.svc.AuthenticateToken(ctx, c.Key.Token); err != nil {
			t.Fatal(err)
		}
	}
	auth()
	if lu := lastUsed(); lu == nil || !lu.Equal(t0) {
		t.Fatalf("last used %v, want %v", lu, t0)
	}
	f.clock.Advance(59 * time.Second)
	auth()
	if lu := lastUsed(); !lu.Equal(t0) {
		t.Fatalf("touched again within a minute: %v", lu)
	}
	f.clock.Advance(time.Second)
	auth()
	if lu := lastUsed(); !lu.Equal(t0.Add(time.Minute)) {
		t.Fatalf("last used %v, want %v", lu, t0.Add(time.Minute))
	}
}

func TestCreateIntegrationValidation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, name := range []string{"", "   ", strings.Repeat("x", 201), "a\x00b", "\xff"} {
		if _, err := f.svc.CreateIntegration(ctx, name); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	ins, err := f.svc.ListIntegrations(ctx)
	if err != nil || len(ins) != 0 {
		t.Fatalf("%d integrations after failures, %v", len(ins), err)
	}

	custom := store.Policy{MatchThreshold: 80, LivenessThreshold: 0.7, MaxAttempts: 5, RetentionDays: 30}
	f2 := newFixture(t, func(o *Options) { o.DefaultPolicy = custom })
	c := f2.create(t, "acme")
	if c.Integration.Policy.MatchThreshold != 80 || c.Integration.Policy.MaxAttempts != 5 {
		t.Fatalf("policy %+v", c.Integration.Policy)
	}
	f3 := newFixture(t, func(o *Options) { o.DefaultPolicy = store.Policy{MatchThreshold: 50} })
	if _, err := f3.svc.CreateIntegration(ctx, "bad policy"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid default policy accepted: %v", err)
	}
	ins, err = f3.svc.ListIntegrations(ctx)
	if err != nil || len(ins) != 0 {
		t.Fatalf("half-created integration left behind: %d, %v", len(ins), err)
	}
}

func TestVendorKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, "keys")
	k, err := f.svc.VendorKeys(c.Integration)
	if err != nil {
		t.Fatal(err)
	}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	if k.PublicKey != c.Integration.PublicKey || !hex64.MatchString(k.PublicKey) || !hex64.MatchString(k.PrivateKey) {
		t.Fatalf("keys %+v", k)
	}
	// The shown AES key is the private key's bytes.
	if raw, _ := base64.StdEncoding.DecodeString(c.AESKey); hex.EncodeToString(raw) != k.PrivateKey {
		t.Fatal("private key is not the integration's AES key")
	}
	r, err := f.svc.RotateVendorKeys(ctx, c.Integration.ID)
	if err != nil || r.PublicKey == k.PublicKey || r.PrivateKey == k.PrivateKey {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	in, _ := f.st.GetIntegration(ctx, c.Integration.ID)
	again, err := f.svc.VendorKeys(in)
	if err != nil || *again != *r {
		t.Fatalf("read back after rotation: %+v %v", again, err)
	}
}
