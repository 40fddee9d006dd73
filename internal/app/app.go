// Package app wires the server's parts from configuration: store, keyring,
// blob storage. Commands call it so `serve`, `migrate` and `admin` open
// things the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/models"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

// ErrNoDatabase means a command that works on existing data found no
// Visage database (or none with Visage's schema) where it was pointed.
var ErrNoDatabase = errors.New("no Visage database")

// ErrNoMasterKey means no master key is configured and its key file does
// not exist, for a command that must not create one.
var ErrNoMasterKey = errors.New("no master key")

// DatabaseURL is the configured URL or the SQLite file in the data dir.
func DatabaseURL(c *config.Server) string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "visage.db")
}

// OpenStore opens and migrates the database, creating it (and the data
// dir) if need be: what `serve` and `migrate` do.
func OpenStore(ctx context.Context, c *config.Server) (store.Store, error) {
	if c.DatabaseURL == "" {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	st, err := store.Open(ctx, DatabaseURL(c))
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return st, nil
}

// OpenExistingStore opens and migrates a database that Visage has already
// created, and fails with ErrNoDatabase otherwise: the admin commands use
// it, so that a mistyped --data-dir or a missing VISAGE_DATABASE_URL says
// so instead of quietly creating an empty database (and integrations the
// server never sees).
func OpenExistingStore(ctx context.Context, c *config.Server) (store.Store, error) {
	url := DatabaseURL(c)
	hint := "start `visage serve` (or run `visage migrate`) with the same settings first, check --data-dir/VISAGE_DATA_DIR and --database-url/VISAGE_DATABASE_URL, or pass --create to create an empty one"
	if path, ok := sqlitePath(url); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: %s", ErrNoDatabase, path, hint)
		}
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	cur, _, err := st.SchemaVersion(ctx)
	if err == nil && cur == 0 {
		err = fmt.Errorf("%w in %s (it has no Visage tables): %s", ErrNoDatabase, RedactURL(url), hint)
	}
	if err == nil {
		if err = st.Migrate(ctx); err != nil {
			err = fmt.Errorf("migrate: %w", err)
		}
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// sqlitePath is the file of a SQLite URL as store.Open reads it.
func sqlitePath(url string) (string, bool) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		return strings.TrimPrefix(url, "sqlite://"), true
	case strings.HasPrefix(url, "sqlite:"):
		return strings.TrimPrefix(url, "sqlite:"), true
	case strings.Contains(url, "://"):
		return "", false
	}
	return url, true
}

// Keyring builds the master keyring: the configured key, or a key file
// (created 0600 on first start), plus retired keys for opening old data.
func Keyring(c *config.Server) (*crypto.Keyring, error) {
	k, err := LoadKeys(c)
	if err != nil {
		return nil, err
	}
	return k.Ring, nil
}

// MasterKeys are the keyring and the keys it was built from.
type MasterKeys struct {
	Ring *crypto.Keyring
	// Current seals new data; the JWT signing key is derived from it.
	Current crypto.Key
	// Old still open data and verify tokens made before a rotation.
	Old []crypto.Key
}

// LoadKeys reads the master key (or its key file, created 0600 if missing)
// and the retired keys.
func LoadKeys(c *config.Server) (*MasterKeys, error) {
	cur, err := masterKey(c)
	if err != nil {
		return nil, err
	}
	k := &MasterKeys{Current: cur}
	if k.Old, err = oldKeys(c); err != nil {
		return nil, err
	}
	if k.Ring, err = crypto.NewKeyring(cur, k.Old...); err != nil {
		return nil, err
	}
	return k, nil
}

// CheckKeys parses the configured master keys without touching any file,
// so that a malformed key stops a command before it creates anything.
func CheckKeys(c *config.Server) error {
	if c.MasterKey != "" {
		if _, err := parseMasterKey(c.MasterKey); err != nil {
			return err
		}
	}
	_, err := oldKeys(c)
	return err
}

func oldKeys(c *config.Server) ([]crypto.Key, error) {
	var keys []crypto.Key
	for i, s := range strings.Split(c.OldMasterKeys, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, err := crypto.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("old master key %d (--old-master-keys, VISAGE_OLD_MASTER_KEYS): %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func parseMasterKey(s string) (crypto.Key, error) {
	k, err := crypto.ParseKey(s)
	if err != nil {
		return k, fmt.Errorf("master key (--master-key, VISAGE_MASTER_KEY): %w", err)
	}
	return k, nil
}

// Tenancy builds the tenancy service the same way for serve and admin.
// Tokens are signed with a key derived from the current master key and
// still verified with those of the old ones, so rotating the master key
// does not log every client out.
func Tenancy(c *config.Server, st store.Store, log *slog.Logger) (*tenancy.Service, error) {
	k, err := LoadKeys(c)
	if err != nil {
		return nil, err
	}
	old := make([][]byte, len(k.Old))
	for i, o := range k.Old {
		old[i] = tenancy.DeriveJWTKey(o)
	}
	m, err := models.Load(c.Manifest)
	if err != nil {
		return nil, err
	}
	match, live := m.Floors()
	return tenancy.New(st, k.Ring, tenancy.Options{
		TokenTTL:   c.TokenTTL,
		JWTKey:     tenancy.DeriveJWTKey(k.Current),
		OldJWTKeys: old,
		Logger:     log,
		Floors:     tenancy.Floors{MatchScore: match, Liveness: live},
	}), nil
}

// MasterKeyPath is the key file used when no master key is configured.
func MasterKeyPath(c *config.Server) string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// RequireMasterKey fails with ErrNoMasterKey unless a master key is
// configured or its key file exists. Commands that only work on existing
// data call it before LoadKeys, which would otherwise create a new key and
// seal data with it that the server cannot open.
func RequireMasterKey(c *config.Server) error {
	if c.MasterKey != "" {
		return nil
	}
	path := MasterKeyPath(c)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist; give the server's key with --master-key/VISAGE_MASTER_KEY(_FILE) or its key file with --master-key-file/VISAGE_MASTER_KEY_PATH", ErrNoMasterKey, path)
	}
	return nil
}

func masterKey(c *config.Server) (crypto.Key, error) {
	if c.MasterKey != "" {
		return parseMasterKey(c.MasterKey)
	}
	path := MasterKeyPath(c)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return crypto.Key{}, fmt.Errorf("master key dir: %w", err)
	}
	k, created, err := crypto.LoadOrCreateKeyFile(path)
	if err != nil {
		return k, fmt.Errorf("master key file (--master-key-file, VISAGE_MASTER_KEY_PATH): %w", err)
	}
	if created {
		// Losing this file loses every sealed value, and another node
		// would not have it: say so where the operator looks.
		slog.Warn("generated a new master key: back it up, and give every node the same key (VISAGE_MASTER_KEY or VISAGE_MASTER_KEY_FILE)",
			"path", path, "key_id", k.ID)
	}
	return k, nil
}
