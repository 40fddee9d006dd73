package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrInsecureKeyFile means a key file exists but other users could read it.
// We refuse to start rather than keep using a key that may already have
// leaked; the operator has to fix the permissions (and consider rotating).
var ErrInsecureKeyFile = errors.New("key file is readable by group or others")

// maxKeyFileSize bounds what we read from a key file; a real one is well under
// 200 bytes, so anything bigger is a wrong path, not a key.
const maxKeyFileSize = 4096

// ParseKey reads a 32-byte key written as hex, or as standard or URL-safe
// base64 (padded or not), optionally prefixed by "id:". Without an id, the id
// is derived from the secret (see DeriveKeyID) so the same key configured on
// every node gets the same id without extra configuration.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	id := ""
	if i := strings.IndexByte(s, ':'); i >= 0 {
		id, s = s[:i], s[i+1:]
		if err := validateKeyID(id); err != nil {
			return Key{}, fmt.Errorf("parse key: %w", err)
		}
	}
	secret, err := decodeSecret(s)
	if err != nil {
		return Key{}, fmt.Errorf("parse key: %w", err)
	}
	if id == "" {
		id = DeriveKeyID(secret)
	}
	return Key{ID: id, Secret: secret}, nil
}

// DeriveKeyID names a key by the first 8 hex characters of SHA-256 of its
// secret. Revealing 32 bits of a hash of a 256-bit random secret does not help
// an attacker, and it lets operators match envelopes to keys by eye.
func DeriveKeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:4])
}

// decodeSecret tries each accepted encoding and keeps the first that yields
// exactly 32 bytes. The encodings cannot be confused with one another for a
// 32-byte value: hex is 64 characters, base64 is 43 or 44.
func decodeSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == SecretSize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == SecretSize {
			return b, nil
		}
	}
	// Deliberately vague about the content: the string may be most of a secret.
	return nil, fmt.Errorf("%w: want %d bytes as hex or base64 (%d characters given)", ErrInvalidKey, SecretSize, len(s))
}

// LoadOrCreateKeyFile returns the key stored at path, creating the file with a
// fresh random key (mode 0600, parent directories 0700) if it does not exist.
// created tells the caller to log that a new master key was generated, since
// losing that file means losing every sealed value.
//
// An existing file that group or others can access is refused with
// ErrInsecureKeyFile (not checked on Windows, where mode bits are not
// meaningful).
func LoadOrCreateKeyFile(path string) (key Key, created bool, err error) {
	key, err = loadKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Key{}, false, err
	}

	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, false, fmt.Errorf("generate key: %w", err)
	}
	err = createKeyFile(path, []byte(base64.StdEncoding.EncodeToString(secret)+"\n"))
	if errors.Is(err, fs.ErrExist) {
		// Another process (a second node starting on shared storage) won the
		// race; its key is the one everyone must use.
		key, err = loadKeyFile(path)
		return key, false, err
	}
	if err != nil {
		return Key{}, false, err
	}
	return Key{ID: DeriveKeyID(secret), Secret: secret}, true, nil
}

func loadKeyFile(path string) (Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Key{}, fmt.Errorf("stat key file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return Key{}, fmt.Errorf("key file %s: %w: not a regular file", path, ErrInvalidKey)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return Key{}, fmt.Errorf("key file %s has mode %04o: %w; run chmod 600 on it (and consider rotating the key)", path, perm, ErrInsecureKeyFile)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return Key{}, fmt.Errorf("read key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return Key{}, fmt.Errorf("key file %s: %w: larger than %d bytes", path, ErrInvalidKey, maxKeyFileSize)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes the key to a temporary file, syncs it, then hard-links
// it into place. Linking fails if path already exists, so two processes
// racing to create the key can never overwrite each other, and a crash never
// leaves an empty or partial key file that would later fail to parse.
func createKeyFile(path string, content []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".visage-key-*") // CreateTemp uses mode 0600
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // the link (if made) keeps the data
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close key file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		return fmt.Errorf("install key file: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a just-created directory entry durable. Without it a power
// loss right after startup could lose the new key after data was sealed with
// it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open key directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync key directory: %w", err)
	}
	return nil
}
