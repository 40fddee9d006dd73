package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestParseKeyEncodings(t *testing.T) {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(250 - i) // high bytes so std and URL alphabets differ
	}
	wantID := DeriveKeyID(secret)
	inputs := map[string]string{
		"hex":            hex.EncodeToString(secret),
		"hex upper":      strings.ToUpper(hex.EncodeToString(secret)),
		"std base64":     base64.StdEncoding.EncodeToString(secret),
		"raw std base64": base64.RawStdEncoding.EncodeToString(secret),
		"url base64":     base64.URLEncoding.EncodeToString(secret),
		"raw url base64": base64.RawURLEncoding.EncodeToString(secret),
		"whitespace":     "  " + base64.StdEncoding.EncodeToString(secret) + "\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKey(in)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !bytes.Equal(k.Secret, secret) || k.ID != wantID {
				t.Fatalf("got id %q secret %x", k.ID, k.Secret)
			}
		})
	}
}

func TestParseKeyExplicitID(t *testing.T) {
	secret := bytes.Repeat([]byte{9}, 32)
	k, err := ParseKey("2025-06:" + hex.EncodeToString(secret))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != "2025-06" || !bytes.Equal(k.Secret, secret) {
		t.Fatalf("got %v %x", k, k.Secret)
	}
}

func TestDeriveKeyIDIsStable(t *testing.T) {
	// SHA-256 of 32 zero bytes starts 66687aad; pinning it catches any change
	// that would rename every existing deployment's key.
	if id := DeriveKeyID(make([]byte, 32)); id != "66687aad" {
		t.Fatalf("DeriveKeyID = %q", id)
	}
}

func TestParseKeyRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"16-byte hex":   hex.EncodeToString(make([]byte, 16)),
		"24-byte b64":   base64.StdEncoding.EncodeToString(make([]byte, 24)),
		"33-byte b64":   base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"not encoded":   "correct horse battery staple",
		"empty id":      ":" + hex.EncodeToString(make([]byte, 32)),
		"bad id":        "a b:" + hex.EncodeToString(make([]byte, 32)),
		"id, no secret": "k1:",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKey(in); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "master.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	if len(k1.Secret) != 32 || k1.ID != DeriveKeyID(k1.Secret) {
		t.Fatalf("bad generated key %v", k1)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %o, want 600", st.Mode().Perm())
		}
		dst, err := os.Stat(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if dst.Mode().Perm()&0o077 != 0 {
			t.Fatalf("key dir mode %o is group/world accessible", dst.Mode().Perm())
		}
	}

	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if k2.ID != k1.ID || !bytes.Equal(k2.Secret, k1.Secret) {
		t.Fatal("reloaded key differs from created key")
	}

	// No temporary files are left next to the key.
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("key dir holds %d entries, want 1", len(entries))
	}
}

func TestLoadOrCreateKeyFileConcurrentCreatorsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([]Key, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], _, errs[i] = LoadOrCreateKeyFile(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i].Secret, keys[0].Secret) {
			t.Fatalf("creator %d got a different key", i)
		}
	}
}

func TestLoadKeyFileRefusesInsecurePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits are not enforced on Windows")
	}
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(hex.EncodeToString(make([]byte, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateKeyFile(path)
		if !errors.Is(err, ErrInsecureKeyFile) {
			t.Fatalf("mode %o: got %v, want ErrInsecureKeyFile", mode, err)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("error should say how to fix it: %v", err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(path); err != nil {
		t.Fatalf("mode 400 should be accepted: %v", err)
	}
}

func TestLoadKeyFileRejectsBadContent(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"short key": []byte(hex.EncodeToString(make([]byte, 16))),
		"empty":     nil,
		"huge":      bytes.Repeat([]byte("a"), 10000),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, created, err := LoadOrCreateKeyFile(path)
			if !errors.Is(err, ErrInvalidKey) || created {
				t.Fatalf("got created=%v %v, want ErrInvalidKey", created, err)
			}
			// The bad file must not have been replaced by a new key.
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, content) {
				t.Fatal("existing key file was modified")
			}
		})
	}
}

func TestLoadKeyFileRejectsDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keydir")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(path); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want a not-a-regular-file error", err)
	}
}

// TestLoadKeyFileDanglingSymlink: a key path that is a symlink to nothing
// (a secret volume that is not mounted) is an error; it is never replaced
// by a freshly generated key, which would seal data no other node can open.
func TestLoadKeyFileDanglingSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "secrets", "master.key")
	path := filepath.Join(dir, "master.key")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	_, created, err := LoadOrCreateKeyFile(path)
	if err == nil || created {
		t.Fatalf("got created=%v err=%v, want an error", created, err)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a key was written through the symlink: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left %d entries in the key dir, want just the symlink", len(entries))
	}
}
