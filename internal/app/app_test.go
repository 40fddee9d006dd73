package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/tenancy"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestTokenSurvivesMasterKeyRotation: a bearer token issued under a master
// key still authenticates once that key has become an old key
// (VISAGE_OLD_MASTER_KEYS) and a new one is current. Before, the old keys
// opened sealed data but tenancy was never given their JWT keys, so a
// rotation logged every client out.
func TestTokenSurvivesMasterKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKeyStr := newKey(t), newKey(t)
	before := &config.Server{Store: config.Store{DataDir: t.TempDir(), MasterKey: oldKey}}
	st, err := OpenStore(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ten, err := Tenancy(before, st, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	created, err := ten.CreateIntegration(ctx, "rotation")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ten.AuthenticateToken(ctx, created.Key.Token)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := ten.IssueJWT(ctx, p)
	if err != nil {
		t.Fatal(err)
	}

	after := *before
	after.MasterKey, after.OldMasterKeys = newKeyStr, oldKey
	rotated, err := Tenancy(&after, st, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.AuthenticateJWT(ctx, token)
	if err != nil {
		t.Fatalf("token from before the rotation: %v", err)
	}
	if got.Integration.ID != created.Integration.ID || got.Scheme != tenancy.SchemeJWT {
		t.Fatalf("principal %+v", got)
	}
	// Secrets sealed under the old key still open, and new tokens work.
	if _, _, err := rotated.OpenSecrets(got.Integration); err != nil {
		t.Fatalf("open secrets after rotation: %v", err)
	}
	fresh, _, err := rotated.IssueJWT(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.AuthenticateJWT(ctx, fresh); err != nil {
		t.Fatalf("token after the rotation: %v", err)
	}

	// Once the old key is dropped its tokens stop working: the test above
	// would pass for the wrong reason if tokens were not bound to keys.
	dropped := after
	dropped.OldMasterKeys = ""
	gone, err := Tenancy(&dropped, st, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.AuthenticateJWT(ctx, token); err == nil {
		t.Fatal("a token signed under a dropped master key still authenticates")
	}
}

func TestOpenExistingStoreRefusesMissingDatabase(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "typo")
	c := &config.Server{Store: config.Store{DataDir: dir}}
	if _, err := OpenExistingStore(ctx, c); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("got %v, want ErrNoDatabase", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the data dir was created: %v", err)
	}

	// An explicit SQLite URL to a missing file: the same.
	c.DatabaseURL = "sqlite:" + filepath.Join(dir, "v.db")
	if _, err := OpenExistingStore(ctx, c); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("got %v, want ErrNoDatabase", err)
	}

	// A file that is there but holds no Visage schema (an empty file left
	// by some other tool) is not a database either.
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c.DatabaseURL = "sqlite:" + empty
	if _, err := OpenExistingStore(ctx, c); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("got %v, want ErrNoDatabase", err)
	}

	// After OpenStore has created it, it opens.
	c.DatabaseURL = ""
	st, err := OpenStore(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = OpenExistingStore(ctx, c)
	if err != nil {
		t.Fatalf("existing database: %v", err)
	}
	st.Close()
}

func TestRequireMasterKey(t *testing.T) {
	dir := t.TempDir()
	c := &config.Server{Store: config.Store{DataDir: dir}}
	if err := RequireMasterKey(c); !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("got %v, want ErrNoMasterKey", err)
	}
	// LoadKeys creates the key file (what serve does on first start)…
	if _, err := LoadKeys(c); err != nil {
		t.Fatal(err)
	}
	// …after which it is found.
	if err := RequireMasterKey(c); err != nil {
		t.Fatal(err)
	}
	c.DataDir = t.TempDir()
	c.MasterKey = newKey(t)
	if err := RequireMasterKey(c); err != nil {
		t.Fatalf("configured key: %v", err)
	}
}
