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
