// Package app wires the server's parts from configuration: store, keyring,
// blob storage. Commands call it so `serve`, `migrate` and `admin` open
// things the same way.
package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// DatabaseURL is the configured URL or the SQLite file in the data dir.
func DatabaseURL(c *config.Server) string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "visage.db")
}

// OpenStore opens and migrates the database.
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

// Keyring builds the master keyring: the configured key, or a key file
// (created 0600 on first start), plus retired keys for opening old data.
func Keyring(c *config.Server) (*crypto.Keyring, error) {
	kr, _, err := Keys(c)
	return kr, err
}

// Keys returns the keyring and the current master key itself (from which
// the JWT signing key is derived).
func Keys(c *config.Server) (*crypto.Keyring, crypto.Key, error) {
	cur, err := masterKey(c)
	if err != nil {
		return nil, crypto.Key{}, err
	}
	var old []crypto.Key
	for _, s := range strings.Split(c.OldMasterKeys, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, err := crypto.ParseKey(s)
		if err != nil {
			return nil, crypto.Key{}, fmt.Errorf("old master key: %w", err)
		}
		old = append(old, k)
	}
	kr, err := crypto.NewKeyring(cur, old...)
	return kr, cur, err
}

func masterKey(c *config.Server) (crypto.Key, error) {
	var cur crypto.Key
	var err error
	if c.MasterKey != "" {
		if cur, err = crypto.ParseKey(c.MasterKey); err != nil {
			return cur, fmt.Errorf("master key: %w", err)
		}
	} else {
		path := c.MasterKeyFile
		if path == "" {
			path = filepath.Join(c.DataDir, "master.key")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return cur, fmt.Errorf("master key dir: %w", err)
		}
		if cur, _, err = crypto.LoadOrCreateKeyFile(path); err != nil {
			return cur, fmt.Errorf("master key file: %w", err)
		}
	}
	return cur, nil
}
