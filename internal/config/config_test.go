package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serverFlags registers every setting, as `visage serve` does.
func serverFlags() (*flag.FlagSet, *Server) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c Server
	RegisterServer(fs, &c)
	return fs, &c
}

// clearEnv unsets every setting's variable for the test, so the
// developer's own VISAGE_* settings do not leak in.
func clearEnv(t *testing.T) {
	fs, _ := serverFlags()
	fs.VisitAll(func(f *flag.Flag) {
		s, _ := Lookup(f)
		for _, name := range []string{s.Env, s.Env + "_FILE"} {
			if v, ok := os.LookupEnv(name); ok {
				t.Setenv(name, v) // restored after the test
				os.Unsetenv(name)
			}
		}
	})
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	fs, c := serverFlags()
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if c.CaptureLinkTTL != 30*time.Minute || c.TokenTTL != 15*time.Minute || c.WebhookPoll != 5*time.Second ||
		c.WebhookLease != time.Minute || c.WebhookTimeout != 10*time.Second || c.DataDir != "data" ||
		c.ModelsDir != "models" || c.RateLimit != 20 || c.MaxBytes != 20<<20 || c.LogLevel != "info" {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestMalformedValuesFailNamingTheVariable: every kind of value that does
// not parse stops the program, and the message says which variable.
// (Earlier versions printed "ignoring" and ran on the default.)
func TestMalformedValuesFailNamingTheVariable(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{"VISAGE_THREADS", "four"},
		{"VISAGE_THREADS", "-1"},
		{"VISAGE_MAX_PIXELS", "5e7"},
		{"VISAGE_MAX_BODY_BYTES", "55MB"},
		{"VISAGE_RATE_LIMIT", "fast"},
		{"VISAGE_RATE_LIMIT", "NaN"},
		{"VISAGE_RATE_BURST", "1.5"},
		{"VISAGE_TOKEN_TTL", "15 minutes"},
		{"VISAGE_CAPTURE_TTL", "30x"},
		{"VISAGE_CAPTURE_TTL", "721h"}, // over the 30-day maximum
		{"VISAGE_WEBHOOK_POLL", "-5s"},
		{"VISAGE_WEBHOOK_LEASE", "1e300"},
		{"VISAGE_WEBHOOK_TIMEOUT", "ten"},
		{"VISAGE_WEBHOOK_ALLOW_PRIVATE", "yes please"},
		{"VISAGE_PUBLIC_URL", "visage.example.com"},
		{"VISAGE_PUBLIC_URL", "ftp://visage.example.com"},
		{"VISAGE_LOG_LEVEL", "verbose"},
		{"VISAGE_WEBHOOK_MAX_ATTEMPTS", "eight"},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tc.env, tc.value)
			fs, _ := serverFlags()
			err := ApplyEnv(fs)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.env+"=") {
				t.Fatalf("error does not name %s: %v", tc.env, err)
			}
		})
	}
}

func TestEveryMalformedValueIsReported(t *testing.T) {
	clearEnv(t)
	t.Setenv("VISAGE_THREADS", "x")
	t.Setenv("VISAGE_TOKEN_TTL", "y")
	fs, _ := serverFlags()
	err := ApplyEnv(fs)
	if err == nil || !strings.Contains(err.Error(), "VISAGE_THREADS") || !strings.Contains(err.Error(), "VISAGE_TOKEN_TTL") {
		t.Fatalf("want both variables named: %v", err)
	}
}

// TestDurations: Go durations, and bare seconds as earlier versions took.
func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30m": 30 * time.Minute, "1h30m": 90 * time.Minute, "500ms": 500 * time.Millisecond,
		"1800": 30 * time.Minute, "0.2": 200 * time.Millisecond, "0": 0, " 45s ": 45 * time.Second,
	} {
		clearEnv(t)
		t.Setenv("VISAGE_CAPTURE_TTL", in)
		t.Setenv("VISAGE_WEBHOOK_POLL", in)
		fs, c := serverFlags()
		if err := ApplyEnv(fs); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.CaptureLinkTTL != want || c.WebhookPoll != want {
			t.Fatalf("%q: got %v and %v, want %v", in, c.CaptureLinkTTL, c.WebhookPoll, want)
		}
	}
	if got := FormatDuration(30 * time.Minute); got != "30m" {
		t.Fatalf("FormatDuration(30m) = %q", got)
	}
	if got := FormatDuration(720 * time.Hour); got != "720h" {
		t.Fatalf("FormatDuration(720h) = %q", got)
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("VISAGE_THREADS", "3")
	t.Setenv("VISAGE_TOKEN_TTL", "1h")
	fs, c := serverFlags()
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--threads", "5"}); err != nil {
		t.Fatal(err)
	}
	if c.Threads != 5 || c.TokenTTL != time.Hour {
		t.Fatalf("threads %d, token TTL %v", c.Threads, c.TokenTTL)
	}
	// A malformed flag names the flag.
	fs, _ = serverFlags()
	if err := fs.Parse([]string{"--capture-ttl", "soon"}); err == nil || !strings.Contains(err.Error(), "capture-ttl") {
		t.Fatalf("got %v", err)
	}
}

func TestEmptyVariableIsUnset(t *testing.T) {
	clearEnv(t)
	t.Setenv("VISAGE_DATA_DIR", "  ")
	t.Setenv("VISAGE_THREADS", "")
	fs, c := serverFlags()
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "data" || c.Threads != 0 {
		t.Fatalf("data dir %q, threads %d", c.DataDir, c.Threads)
	}
}

// TestSecretFiles: a *_FILE that cannot be read is fatal. Earlier
// versions printed a warning and went on without the secret, so a server
// whose VISAGE_MASTER_KEY_FILE was missing created a new local key and
// sealed data with it that the other nodes could not open.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	const key = "Wm9vbSB6b29tIHpvb20gdGhpcyBpcyBub3QgYSBrZXkhIQ"
	good := filepath.Join(dir, "master.key")
	if err := os.WriteFile(good, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, make([]byte, 100<<10), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("read", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("VISAGE_MASTER_KEY_FILE", good)
		t.Setenv("VISAGE_OLD_MASTER_KEYS_FILE", good)
		t.Setenv("VISAGE_DATABASE_URL_FILE", good)
		fs, c := serverFlags()
		if err := ApplyEnv(fs); err != nil {
			t.Fatal(err)
		}
		if c.MasterKey != key || c.OldMasterKeys != key || c.DatabaseURL != key {
			t.Fatalf("got %q %q %q", c.MasterKey, c.OldMasterKeys, c.DatabaseURL)
		}
	})
	for name, path := range map[string]string{
		"missing": filepath.Join(dir, "nope"), "directory": dir, "empty": empty, "huge": huge,
	} {
		for _, env := range []string{"VISAGE_MASTER_KEY", "VISAGE_OLD_MASTER_KEYS", "VISAGE_DATABASE_URL"} {
			t.Run(name+"/"+env, func(t *testing.T) {
				clearEnv(t)
				t.Setenv(env+"_FILE", path)
				fs, _ := serverFlags()
				err := ApplyEnv(fs)
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), env+"_FILE="+path) {
					t.Fatalf("got %v, want an error naming %s_FILE", err, env)
				}
			})
		}
	}
	t.Run("both", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("VISAGE_MASTER_KEY", key)
		t.Setenv("VISAGE_MASTER_KEY_FILE", good)
		fs, _ := serverFlags()
		if err := ApplyEnv(fs); !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
	})
}

// TestSecretsAreNotEchoed: an error about a secret names the variable but
// never prints the value, which may be most of a key.
func TestSecretsAreNotEchoed(t *testing.T) {
	clearEnv(t)
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var d time.Duration
	addSecret(fs, durationValue{p: &d}, "secret-ttl", "VISAGE_TEST_SECRET", "DURATION", "test")
	t.Setenv("VISAGE_TEST_SECRET", "hunter2-hunter2")
	err := ApplyEnv(fs)
	if err == nil || !strings.Contains(err.Error(), "VISAGE_TEST_SECRET") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

func TestBooleans(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "false": false, "0": false} {
		clearEnv(t)
		t.Setenv("VISAGE_WEBHOOK_ALLOW_PRIVATE", in)
		fs, c := serverFlags()
		if err := ApplyEnv(fs); err != nil || c.WebhookAllowPrivate != want {
			t.Fatalf("%q: got %v, %v", in, c.WebhookAllowPrivate, err)
		}
	}
	// A bool setting is still a bare flag on the command line.
	clearEnv(t)
	fs, c := serverFlags()
	if err := fs.Parse([]string{"--webhook-allow-private"}); err != nil || !c.WebhookAllowPrivate {
		t.Fatalf("got %v, %v", c.WebhookAllowPrivate, err)
	}
}
