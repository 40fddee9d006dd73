// Package config is the one place Visage's settings are defined: each is a
// flag and a VISAGE_* environment variable (the flag wins) with a safe
// default. Every setting, its variable, default and meaning is listed in
// docs/configuration.md; a test fails when one is missing there.
//
// Configuration fails closed: a value that does not parse (a number, a
// duration, a URL, a boolean) or a secret file that cannot be read stops
// the command with a message naming the variable, instead of falling back
// to a default the operator did not choose.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ErrInvalid wraps every error about the environment's settings.
var ErrInvalid = errors.New("invalid configuration")

// maxSecretFile bounds a *_FILE read: a secret is well under 1 KB, so a
// bigger file is a wrong path, not a secret.
const maxSecretFile = 64 << 10

// Setting is what a flag registered by this package carries besides its
// value.
type Setting struct {
	// Env is the VISAGE_* variable the setting is read from.
	Env string
	// Secret settings are also read from the file named by Env+"_FILE"
	// (Docker and Kubernetes secrets) and never echoed in errors.
	Secret bool
	// Arg names the value in help text: DIR, N, DURATION…
	Arg string
}

// setting is the flag.Value of a registered setting.
type setting struct {
	flag.Value
	Setting
}

// String survives the zero setting the flag package builds to find out
// whether a default is the zero value.
func (s *setting) String() string {
	if s == nil || s.Value == nil {
		return ""
	}
	return s.Value.String()
}

func (s *setting) IsBoolFlag() bool {
	b, ok := s.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Lookup tells whether a flag is one of the settings registered here and
// which variable it is read from.
func Lookup(f *flag.Flag) (Setting, bool) {
	s, ok := f.Value.(*setting)
	if !ok {
		return Setting{}, false
	}
	return s.Setting, true
}

func add(fs *flag.FlagSet, v flag.Value, name, env, arg, usage string) {
	fs.Var(&setting{Value: v, Setting: Setting{Env: env, Arg: arg}}, name, usage)
}

func addSecret(fs *flag.FlagSet, v flag.Value, name, env, arg, usage string) {
	fs.Var(&setting{Value: v, Setting: Setting{Env: env, Arg: arg, Secret: true}}, name, usage)
}

// ApplyEnv sets every registered setting of fs whose variable is present.
// Call it before fs.Parse, so that the command line wins. Every malformed
// or unreadable value is reported, each naming its variable.
func ApplyEnv(fs *flag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		s, ok := f.Value.(*setting)
		if !ok {
			return
		}
		v, from, err := lookupEnv(s.Setting)
		switch {
		case err != nil:
			errs = append(errs, err)
		case from == "":
		case s.Secret:
			if err := s.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", from, err))
			}
		default:
			if err := s.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", from, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// lookupEnv returns a setting's value and the variable it came from ("" if
// none is set). An empty variable counts as unset, so `VISAGE_X=` in a unit
// file clears a setting rather than making it empty.
func lookupEnv(s Setting) (value, from string, err error) {
	v := strings.TrimSpace(os.Getenv(s.Env))
	if !s.Secret {
		if v == "" {
			return "", "", nil
		}
		return v, s.Env, nil
	}
	fileVar := s.Env + "_FILE"
	path := strings.TrimSpace(os.Getenv(fileVar))
	switch {
	case v != "" && path != "":
		return "", "", fmt.Errorf("%s and %s are both set: keep one", s.Env, fileVar)
	case v != "":
		return v, s.Env, nil
	case path == "":
		return "", "", nil
	}
	secret, err := readSecret(path)
	if err != nil {
		return "", "", fmt.Errorf("%s=%s: %w", fileVar, path, err)
	}
	return secret, fileVar, nil
}

func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("larger than %d bytes: not a secret file", maxSecretFile)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("the file is empty")
	}
	return s, nil
}

// Engine settings: every command that runs the models.
type Engine struct {
	ModelsDir string
	Manifest  string
	Threads   int
	MaxPixels int64
	MaxBytes  int64
	// FlipFusion embeds each face and its mirror image and adds the two.
	FlipFusion bool
}

// RegisterModelFiles binds where the models are: what `visage models`
// needs.
func RegisterModelFiles(fs *flag.FlagSet, c *Engine) {
	c.ModelsDir, c.Manifest = "models", ""
	add(fs, stringValue{&c.ModelsDir}, "models-dir", "VISAGE_MODELS_DIR", "DIR", "directory holding the ONNX models and runtime")
	add(fs, stringValue{&c.Manifest}, "model-manifest", "VISAGE_MODEL_MANIFEST", "FILE", "model manifest JSON; empty uses the built-in one")
}

// RegisterEngine binds the engine settings.
func RegisterEngine(fs *flag.FlagSet, c *Engine) {
	RegisterModelFiles(fs, c)
	c.Threads, c.MaxPixels, c.MaxBytes, c.FlipFusion = 0, 50_000_000, 20<<20, true
	add(fs, intValue{&c.Threads}, "threads", "VISAGE_THREADS", "N", "intra-op threads per inference; 0 = all cores")
	add(fs, int64Value{&c.MaxPixels}, "max-pixels", "VISAGE_MAX_PIXELS", "N", "largest image accepted, in pixels (checked from the header, before decoding)")
	add(fs, int64Value{&c.MaxBytes}, "max-image-bytes", "VISAGE_MAX_IMAGE_BYTES", "BYTES", "largest encoded image accepted")
	add(fs, boolValue{&c.FlipFusion}, "flip-fusion", "VISAGE_FLIP_FUSION", "", "embed each face and its mirror image and add them: more accurate, one more embedding pass per face")
}

// Store settings: the database and the master keys that seal its data.
type Store struct {
	DataDir       string
	DatabaseURL   string // empty: SQLite file in DataDir
	MasterKey     string // base64/hex 32 bytes, optionally "id:key"
	MasterKeyFile string // empty: DataDir/master.key, created on first start
	OldMasterKeys string // comma-separated retired keys, still used to open
}

// RegisterDatabase binds where the database is: what `visage migrate`
// needs.
func RegisterDatabase(fs *flag.FlagSet, c *Store) {
	c.DataDir, c.DatabaseURL = "data", ""
	add(fs, stringValue{&c.DataDir}, "data-dir", "VISAGE_DATA_DIR", "DIR", "directory for the SQLite database, blobs and the key file")
	addSecret(fs, stringValue{&c.DatabaseURL}, "database-url", "VISAGE_DATABASE_URL", "URL", "postgres://… or sqlite:PATH; empty = SQLite in the data dir")
}

// RegisterStore binds the database and the master keys.
func RegisterStore(fs *flag.FlagSet, c *Store) {
	RegisterDatabase(fs, c)
	c.MasterKey, c.MasterKeyFile, c.OldMasterKeys = "", "", ""
	addSecret(fs, stringValue{&c.MasterKey}, "master-key", "VISAGE_MASTER_KEY", "KEY", "32-byte master key, base64 or hex, optionally ID:KEY; empty uses the key file")
	add(fs, stringValue{&c.MasterKeyFile}, "master-key-file", "VISAGE_MASTER_KEY_PATH", "FILE", "key file used when no master key is given, created 0600 on the server's first start; default DATA_DIR/master.key")
	addSecret(fs, stringValue{&c.OldMasterKeys}, "old-master-keys", "VISAGE_OLD_MASTER_KEYS", "KEYS", "comma-separated retired master keys, still used to open old data and tokens")
}

// Server settings for `visage serve`; the admin commands use parts of it.
type Server struct {
	Engine
	Store
	Listen         string
	PublicURL      string
	MaxBodyBytes   int64
	RateLimit      float64 // requests per second per API key
	RateBurst      int
	TokenTTL       time.Duration
	LogLevel       string
	Workers        int // concurrent engine jobs; 0: number of cores
	CaptureLinkTTL time.Duration

	// Admission control of heavy requests (images, video): how many run
	// at once (0: twice the engine's workers; negative: off), how many
	// wait, and how long one waits before 503 + Retry-After. (-1: "off")
	AdmitConcurrency int
	AdmitQueue       int
	AdmitWait        time.Duration

	// Verification cases (internal/kyc).
	VerifyLinkTTL      time.Duration // lifetime of a hosted verification link
	VerifyAbandonAfter time.Duration // a started case left idle this long is abandoned
	VideoMaxBytes      int64         // largest selfie video
	OCRLegacyData      string        // folder of tesseract's legacy-engine eng.traineddata

	// Webhook delivery (internal/webhook).
	WebhookAllowPrivate  bool          // let webhooks reach loopback/private/link-local addresses
	WebhookAllowCIDRs    string        // comma-separated prefixes webhooks may reach although not public
	WebhookPoll          time.Duration // between polls for due deliveries
	WebhookLease         time.Duration // a claimed delivery stays reserved for its worker
	WebhookTimeout       time.Duration // one webhook request
	WebhookMaxAttempts   int           // sends per delivery before it is failed
	WebhookConcurrency   int           // webhook requests in flight per node
	WebhookRetentionDays int           // days finished deliveries are kept; 0 = forever

	// TLS served directly (internal/tlsserve): certificate files, or ACME.
	TLSCertFile      string // PEM chain; re-read when renewed
	TLSKeyFile       string
	ACMEDomains      string // comma-separated names to obtain certificates for
	ACMEEmail        string
	ACMEDirectoryURL string // empty: Let's Encrypt
	ACMECacheDir     string // empty: DataDir/acme
	ACMEHTTPListen   string // HTTP-01 challenge listener; empty: none
	TrustedProxies   string // comma-separated prefixes whose X-Forwarded-* are believed
}

// MaxTokenTTL caps bearer tokens: a leaked token is good until it expires
// or its key is revoked.
const MaxTokenTTL = 24 * time.Hour

// MaxCaptureLinkTTL is the longest hosted capture link.
const MaxCaptureLinkTTL = 30 * 24 * time.Hour

// RegisterServer binds every server setting.
func RegisterServer(fs *flag.FlagSet, c *Server) {
	RegisterEngine(fs, &c.Engine)
	RegisterStore(fs, &c.Store)
	RegisterAddress(fs, c)
	RegisterTLS(fs, c)
	c.MaxBodyBytes, c.RateLimit, c.RateBurst = 55<<20, 20, 40
	c.TokenTTL, c.LogLevel, c.Workers, c.CaptureLinkTTL = 15*time.Minute, "info", 0, 30*time.Minute
	add(fs, int64Value{&c.MaxBodyBytes}, "max-body-bytes", "VISAGE_MAX_BODY_BYTES", "BYTES", "largest request body (413 above)")
	add(fs, floatValue{&c.RateLimit}, "rate-limit", "VISAGE_RATE_LIMIT", "N", "requests per second per API key; 0 disables")
	add(fs, intValue{&c.RateBurst}, "rate-burst", "VISAGE_RATE_BURST", "N", "burst size per API key")
	add(fs, durationValue{p: &c.TokenTTL, max: MaxTokenTTL}, "token-ttl", "VISAGE_TOKEN_TTL", "DURATION", "lifetime of bearer tokens from POST /v1/auth/token, at most 24h (a token outlives nothing but its key's revocation)")
	add(fs, logLevelValue{&c.LogLevel}, "log-level", "VISAGE_LOG_LEVEL", "LEVEL", "debug, info, warn or error")
	add(fs, intValue{&c.Workers}, "workers", "VISAGE_WORKERS", "N", "concurrent face-engine jobs; 0 = number of cores")
	c.AdmitConcurrency, c.AdmitQueue, c.AdmitWait = 0, 0, 3*time.Second
	add(fs, countOrOff{&c.AdmitConcurrency}, "admit-concurrency", "VISAGE_ADMIT_CONCURRENCY", "N", "image and video requests worked on at once; 0 = twice the workers (throughput is flat beyond that), off = no admission control")
	add(fs, intValue{&c.AdmitQueue}, "admit-queue", "VISAGE_ADMIT_QUEUE", "N", "image and video requests that may wait for a slot (one integration at most half); 0 = 4 × the concurrency")
	add(fs, durationValue{p: &c.AdmitWait, max: time.Minute}, "admit-wait", "VISAGE_ADMIT_WAIT", "DURATION", "longest wait for a slot before 503 with Retry-After; a request expected to wait longer is refused at once")
	add(fs, durationValue{p: &c.CaptureLinkTTL, max: MaxCaptureLinkTTL}, "capture-ttl", "VISAGE_CAPTURE_TTL", "DURATION", "lifetime of a hosted capture link, at most 720h (30 days)")
	c.VerifyLinkTTL, c.VerifyAbandonAfter, c.VideoMaxBytes, c.OCRLegacyData = 72*time.Hour, 24*time.Hour, 50<<20, ".cache/tessdata"
	add(fs, durationValue{p: &c.VerifyLinkTTL, max: MaxCaptureLinkTTL}, "verify-link-ttl", "VISAGE_VERIFY_LINK_TTL", "DURATION", "lifetime of a hosted verification link, at most 720h (30 days)")
	add(fs, durationValue{p: &c.VerifyAbandonAfter}, "verify-abandon-after", "VISAGE_VERIFY_ABANDON_AFTER", "DURATION", "a started verification left idle this long becomes Abandoned")
	add(fs, int64Value{&c.VideoMaxBytes}, "max-video-bytes", "VISAGE_MAX_VIDEO_BYTES", "BYTES", "largest selfie video accepted (the Identity Verification API promises 50 MB)")
	add(fs, stringValue{&c.OCRLegacyData}, "ocr-legacy-data", "VISAGE_OCR_LEGACY_DATA", "DIR", "folder of tesseract's legacy-engine eng.traineddata (scripts/setup-system.sh installs it); empty or missing: the LSTM engine alone, which reads fewer MRZs")
	RegisterWebhookGuard(fs, c)
	c.WebhookPoll, c.WebhookLease, c.WebhookTimeout = 5*time.Second, time.Minute, 10*time.Second
	c.WebhookMaxAttempts, c.WebhookConcurrency, c.WebhookRetentionDays = 8, 8, 30
	add(fs, durationValue{p: &c.WebhookPoll}, "webhook-poll", "VISAGE_WEBHOOK_POLL", "DURATION", "time between polls for due webhook deliveries")
	add(fs, durationValue{p: &c.WebhookLease}, "webhook-lease", "VISAGE_WEBHOOK_LEASE", "DURATION", "time a delivery stays reserved for the node sending it; a crashed node's deliveries are resent after it; at least the timeout + 2s")
	add(fs, durationValue{p: &c.WebhookTimeout}, "webhook-timeout", "VISAGE_WEBHOOK_TIMEOUT", "DURATION", "time one webhook request may take")
	add(fs, intValue{&c.WebhookMaxAttempts}, "webhook-max-attempts", "VISAGE_WEBHOOK_MAX_ATTEMPTS", "N", "sends per webhook delivery before it is marked failed")
	add(fs, intValue{&c.WebhookConcurrency}, "webhook-concurrency", "VISAGE_WEBHOOK_CONCURRENCY", "N", "webhook requests in flight per node")
	add(fs, intValue{&c.WebhookRetentionDays}, "webhook-retention-days", "VISAGE_WEBHOOK_RETENTION_DAYS", "N", "days delivered and failed webhook deliveries are kept; 0 = forever")
}

// RegisterAddress binds where the server is reached: what
// `visage admin integration create` needs to print a working example.
func RegisterAddress(fs *flag.FlagSet, c *Server) {
	c.Listen, c.PublicURL = "127.0.0.1:8080", ""
	add(fs, stringValue{&c.Listen}, "listen", "VISAGE_LISTEN", "ADDR", "HTTP listen address")
	add(fs, urlValue{&c.PublicURL}, "public-url", "VISAGE_PUBLIC_URL", "URL", "externally visible base URL for capture links and image URLs; default http://LISTEN")
}

// RegisterTLS binds how the server terminates TLS, or which proxies in
// front of it do.
func RegisterTLS(fs *flag.FlagSet, c *Server) {
	c.TLSCertFile, c.TLSKeyFile, c.TrustedProxies = "", "", ""
	c.ACMEDomains, c.ACMEEmail, c.ACMEDirectoryURL, c.ACMECacheDir, c.ACMEHTTPListen = "", "", "", "", ""
	// The variables end in _PATH, not _FILE: in Visage a *_FILE variable
	// names the file a secret setting is read from, while these name files
	// the server reads itself, and reads again on renewal.
	add(fs, stringValue{&c.TLSCertFile}, "tls-cert-file", "VISAGE_TLS_CERT_PATH", "FILE", "PEM certificate chain to serve HTTPS with, re-read when it changes; needs --tls-key-file")
	add(fs, stringValue{&c.TLSKeyFile}, "tls-key-file", "VISAGE_TLS_KEY_PATH", "FILE", "PEM private key of --tls-cert-file")
	add(fs, stringValue{&c.ACMEDomains}, "acme-domains", "VISAGE_ACME_DOMAINS", "NAMES", "comma-separated domain names to get certificates for from an ACME CA (Let's Encrypt) and serve HTTPS with")
	add(fs, stringValue{&c.ACMEEmail}, "acme-email", "VISAGE_ACME_EMAIL", "EMAIL", "contact address of the ACME account (expiry warnings)")
	add(fs, urlValue{&c.ACMEDirectoryURL}, "acme-directory-url", "VISAGE_ACME_DIRECTORY_URL", "URL", "ACME directory of a staging or private CA; default Let's Encrypt")
	add(fs, stringValue{&c.ACMECacheDir}, "acme-cache-dir", "VISAGE_ACME_CACHE_DIR", "DIR", "where the ACME account key and certificates are kept, created 0700; default DATA_DIR/acme")
	add(fs, stringValue{&c.ACMEHTTPListen}, "acme-http-listen", "VISAGE_ACME_HTTP_LISTEN", "ADDR", "address (like :80) answering ACME HTTP-01 challenges and redirecting to https; empty = none, TLS-ALPN-01 on the HTTPS port only")
	add(fs, stringValue{&c.TrustedProxies}, "trusted-proxies", "VISAGE_TRUSTED_PROXIES", "CIDRS", "comma-separated CIDR prefixes of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; default nobody")
}

// RegisterWebhookGuard binds the addresses webhooks may reach: what
// `visage webhooks set` checks URLs against.
func RegisterWebhookGuard(fs *flag.FlagSet, c *Server) {
	c.WebhookAllowPrivate, c.WebhookAllowCIDRs = false, ""
	add(fs, boolValue{&c.WebhookAllowPrivate}, "webhook-allow-private", "VISAGE_WEBHOOK_ALLOW_PRIVATE", "", "let webhooks reach loopback, private and link-local addresses; development only")
	add(fs, stringValue{&c.WebhookAllowCIDRs}, "webhook-allow-cidrs", "VISAGE_WEBHOOK_ALLOW_CIDRS", "CIDRS", "comma-separated CIDR prefixes webhooks may reach although not public")
}

// RegisterAPIKey binds the x-api-key token a client command (`visage
// bench`) sends.
func RegisterAPIKey(fs *flag.FlagSet, key *string) {
	*key = ""
	addSecret(fs, stringValue{key}, "key", "VISAGE_API_KEY", "TOKEN", "x-api-key token of an integration")
}
