// Package config is the one place Visage's settings are defined: each has
// a flag, a VISAGE_* environment variable (the flag wins) and a safe
// default. docs/configuration.md lists them.
package config

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Engine settings shared by every command that runs models.
type Engine struct {
	ModelsDir string
	Manifest  string
	Threads   int
	MaxPixels int64
	MaxBytes  int64
}

// RegisterEngine binds the engine settings to a flag set.
func RegisterEngine(fs *flag.FlagSet, c *Engine) {
	fs.StringVar(&c.ModelsDir, "models-dir", env("VISAGE_MODELS_DIR", "models"), "directory holding the ONNX models and runtime (VISAGE_MODELS_DIR)")
	fs.StringVar(&c.Manifest, "model-manifest", env("VISAGE_MODEL_MANIFEST", ""), "model manifest JSON; empty uses the built-in one (VISAGE_MODEL_MANIFEST)")
	fs.IntVar(&c.Threads, "threads", envInt("VISAGE_THREADS", 0), "intra-op threads per inference; 0 = all cores (VISAGE_THREADS)")
	fs.Int64Var(&c.MaxPixels, "max-pixels", envInt64("VISAGE_MAX_PIXELS", 50_000_000), "largest image accepted, in pixels (VISAGE_MAX_PIXELS)")
	fs.Int64Var(&c.MaxBytes, "max-image-bytes", envInt64("VISAGE_MAX_IMAGE_BYTES", 20<<20), "largest encoded image accepted, in bytes (VISAGE_MAX_IMAGE_BYTES)")
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func envInt(key string, def int) int { return int(envInt64(key, int64(def))) }

// envInt64 falls back to the default on a malformed value but says so,
// because a silently ignored limit is worse than a loud one.
func envInt64(key string, def int64) int64 {
	v := env(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "visage: ignoring %s=%q: not an integer\n", key, v)
		return def
	}
	return n
}

// Server settings for `visage serve` and the commands that open the
// store (`migrate`, `admin`).
type Server struct {
	Engine
	Listen        string
	DataDir       string
	DatabaseURL   string // empty: SQLite file in DataDir
	MasterKey     string // base64/hex 32 bytes, optionally "id:key"
	MasterKeyFile string // empty: DataDir/master.key, created on first start
	OldMasterKeys string // comma-separated retired keys, still used to open
	MaxBodyBytes  int64
	RateLimit     float64 // requests per second per API key
	RateBurst     int
	TokenTTLSecs  int
	LogLevel      string
	Workers       int // concurrent engine jobs; 0: number of cores
	PublicURL     string
	CaptureTTL    int // seconds

	// Webhook delivery (internal/webhook).
	WebhookAllowPrivate  bool    // let webhooks reach loopback/private/link-local addresses
	WebhookAllowCIDRs    string  // comma-separated prefixes webhooks may reach although not public
	WebhookPollSecs      float64 // seconds between polls for due webhook deliveries
	WebhookLeaseSecs     float64 // seconds a claimed delivery stays reserved for its worker
	WebhookTimeoutSecs   float64 // seconds one webhook request may take
	WebhookMaxAttempts   int     // sends per delivery before it is failed
	WebhookConcurrency   int     // webhook requests in flight per node
	WebhookRetentionDays int     // days finished deliveries are kept; 0 = forever
}

// RegisterServer binds the server settings to a flag set.
func RegisterServer(fs *flag.FlagSet, c *Server) {
	RegisterEngine(fs, &c.Engine)
	fs.StringVar(&c.Listen, "listen", env("VISAGE_LISTEN", "127.0.0.1:8080"), "HTTP listen address (VISAGE_LISTEN)")
	fs.StringVar(&c.DataDir, "data-dir", env("VISAGE_DATA_DIR", "data"), "directory for the SQLite database, blobs and the key file (VISAGE_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("VISAGE_DATABASE_URL", ""), "postgres://… or sqlite:PATH; empty = SQLite in the data dir (VISAGE_DATABASE_URL)")
	fs.StringVar(&c.MasterKey, "master-key", secretEnv("VISAGE_MASTER_KEY"), "32-byte master key, base64 or hex (VISAGE_MASTER_KEY or VISAGE_MASTER_KEY_FILE)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("VISAGE_MASTER_KEY_PATH", ""), "key file created 0600 on first start; default DATA_DIR/master.key (VISAGE_MASTER_KEY_PATH)")
	fs.StringVar(&c.OldMasterKeys, "old-master-keys", secretEnv("VISAGE_OLD_MASTER_KEYS"), "comma-separated retired master keys, kept to open old data (VISAGE_OLD_MASTER_KEYS)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", envInt64("VISAGE_MAX_BODY_BYTES", 55<<20), "largest request body (VISAGE_MAX_BODY_BYTES)")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat("VISAGE_RATE_LIMIT", 20), "requests per second per API key; 0 disables (VISAGE_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", envInt("VISAGE_RATE_BURST", 40), "burst size per API key (VISAGE_RATE_BURST)")
	fs.IntVar(&c.TokenTTLSecs, "token-ttl", envInt("VISAGE_TOKEN_TTL", 900), "lifetime of issued bearer tokens in seconds (VISAGE_TOKEN_TTL)")
	fs.StringVar(&c.LogLevel, "log-level", env("VISAGE_LOG_LEVEL", "info"), "debug, info, warn or error (VISAGE_LOG_LEVEL)")
	fs.IntVar(&c.Workers, "workers", envInt("VISAGE_WORKERS", 0), "concurrent face-engine jobs; 0 = number of cores (VISAGE_WORKERS)")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", strings.EqualFold(env("VISAGE_WEBHOOK_ALLOW_PRIVATE", "false"), "true"), "let webhooks reach loopback, private and link-local addresses; development only (VISAGE_WEBHOOK_ALLOW_PRIVATE)")
	fs.StringVar(&c.WebhookAllowCIDRs, "webhook-allow-cidrs", env("VISAGE_WEBHOOK_ALLOW_CIDRS", ""), "comma-separated CIDR prefixes webhooks may reach although not public (VISAGE_WEBHOOK_ALLOW_CIDRS)")
	fs.Float64Var(&c.WebhookPollSecs, "webhook-poll", envFloat("VISAGE_WEBHOOK_POLL", 5), "seconds between polls for due webhook deliveries (VISAGE_WEBHOOK_POLL)")
	fs.Float64Var(&c.WebhookLeaseSecs, "webhook-lease", envFloat("VISAGE_WEBHOOK_LEASE", 60), "seconds a delivery stays reserved for the node sending it; a crashed node's deliveries are resent after it; at least the timeout + 2 (VISAGE_WEBHOOK_LEASE)")
	fs.Float64Var(&c.WebhookTimeoutSecs, "webhook-timeout", envFloat("VISAGE_WEBHOOK_TIMEOUT", 10), "seconds one webhook request may take (VISAGE_WEBHOOK_TIMEOUT)")
	fs.IntVar(&c.WebhookMaxAttempts, "webhook-max-attempts", envInt("VISAGE_WEBHOOK_MAX_ATTEMPTS", 8), "sends per webhook delivery before it is marked failed (VISAGE_WEBHOOK_MAX_ATTEMPTS)")
	fs.IntVar(&c.WebhookConcurrency, "webhook-concurrency", envInt("VISAGE_WEBHOOK_CONCURRENCY", 8), "webhook requests in flight per node (VISAGE_WEBHOOK_CONCURRENCY)")
	fs.IntVar(&c.WebhookRetentionDays, "webhook-retention-days", envInt("VISAGE_WEBHOOK_RETENTION_DAYS", 30), "days delivered and failed webhook deliveries are kept; 0 = forever (VISAGE_WEBHOOK_RETENTION_DAYS)")
	fs.StringVar(&c.PublicURL, "public-url", env("VISAGE_PUBLIC_URL", ""), "externally visible base URL for capture links and image URLs; default http://LISTEN (VISAGE_PUBLIC_URL)")
	fs.IntVar(&c.CaptureTTL, "capture-ttl", envInt("VISAGE_CAPTURE_TTL", 1800), "lifetime of a hosted capture link in seconds (VISAGE_CAPTURE_TTL)")
}

// secretEnv reads KEY, or the file named by KEY_FILE (Docker/Kubernetes
// secrets), so a secret need not sit in the process environment.
func secretEnv(key string) string {
	if v := env(key, ""); v != "" {
		return v
	}
	if p := env(key+"_FILE", ""); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "visage: cannot read %s_FILE=%s: %v\n", key, p, err)
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return ""
}

func envFloat(key string, def float64) float64 {
	v := env(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "visage: ignoring %s=%q: not a number\n", key, v)
		return def
	}
	return f
}
