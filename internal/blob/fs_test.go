package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/blob/blobtest"
	"github.com/visagehq/visage/internal/crypto"
)

const testMaxSize = 1 << 10

func testKeyring(t *testing.T, id string, fill byte, old ...crypto.Key) *crypto.Keyring {
	t.Helper()
	kr, err := crypto.NewKeyring(crypto.Key{ID: id, Secret: bytes.Repeat([]byte{fill}, 32)}, old...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newFS(t *testing.T, dir string, kr *crypto.Keyring) *blob.FS {
	t.Helper()
	s, err := blob.NewFS(dir, kr, testMaxSize)
	if err != nil {
		t.Fatalf("NewFS: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFSConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return newFS(t, t.TempDir(), testKeyring(t, "k1", 1))
	}, testMaxSize)
}

func put(t *testing.T, s blob.Store, key, content string) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, strings.NewReader(content), blob.Meta{ContentType: "image/jpeg"}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func TestFSEncryptsAtRest(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	secret := "very recognisable face image bytes"
	put(t, s, "int_1/faces/abc/img1", secret)
	raw, err := os.ReadFile(filepath.Join(dir, blob.FileName("int_1/faces/abc/img1")))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte("image/jpeg")) {
		t.Fatal("content or metadata stored in the clear")
	}
}

func TestFSTamperDetected(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	const key = "int_1/faces/abc/img1"
	put(t, s, key, "face image")
	file := filepath.Join(dir, blob.FileName(key))
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The header (version and key id) sits at 0-3; flip one byte there, in
	// the nonce, the ciphertext and the tag.
	for _, i := range []int{0, 5, 10, len(orig) / 2, len(orig) - 1} {
		bad := bytes.Clone(orig)
		bad[i] ^= 0x01
		if err := os.WriteFile(file, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		rc, _, err := s.Get(context.Background(), key)
		if err == nil {
			rc.Close()
			t.Fatalf("byte %d flipped: Get succeeded", i)
		}
		if !errors.Is(err, crypto.ErrTampered) && !errors.Is(err, crypto.ErrUnknownKey) {
			t.Fatalf("byte %d flipped: %v, want a tamper error", i, err)
		}
	}
	// Truncation is tampering too.
	if err := os.WriteFile(file, orig[:len(orig)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), key); !errors.Is(err, crypto.ErrTampered) {
		t.Fatalf("truncated: %v", err)
	}
}

// A file copied to another key's location (e.g. to serve one subject's
// face as another's) must not open.
func TestFSCopyToOtherKeyDetected(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	put(t, s, "int_1/faces/alice/img1", "alice")
	put(t, s, "int_1/faces/bob/img1", "bob")
	src, err := os.ReadFile(filepath.Join(dir, blob.FileName("int_1/faces/alice/img1")))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"int_1/faces/bob/img1", "int_2/faces/alice/img1"} {
		path := filepath.Join(dir, blob.FileName(target))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(context.Background(), target); !errors.Is(err, crypto.ErrTampered) {
			t.Fatalf("copy to %s: %v, want ErrTampered", target, err)
		}
	}
}

func TestFSRotation(t *testing.T) {
	dir := t.TempDir()
	oldKey := crypto.Key{ID: "old", Secret: bytes.Repeat([]byte{1}, 32)}
	s := newFS(t, dir, testKeyring(t, "old", 1))
	put(t, s, "k", "sealed with old key")

	rotated := newFS(t, dir, testKeyring(t, "new", 2, oldKey))
	if got, _ := blobtest.MustGet(t, rotated, "k"); string(got) != "sealed with old key" {
		t.Fatalf("after rotation: %q", got)
	}

	foreign := newFS(t, dir, testKeyring(t, "other", 3))
	if _, _, err := foreign.Get(context.Background(), "k"); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Fatalf("foreign keyring: %v, want ErrUnknownKey", err)
	}
}

func TestFSPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits are not meaningful on Windows")
	}
	dir := filepath.Join(t.TempDir(), "data")
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	put(t, s, "int_1/faces/abc/img1", "x")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Failed writes of any kind leave no file behind, temporary or not.
func TestFSFailedPutLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	ctx := context.Background()
	s.Put(ctx, "int_1/big", bytes.NewReader(make([]byte, testMaxSize+1)), blob.Meta{})
	s.Put(ctx, "int_1/mismatch", strings.NewReader("abc"), blob.Meta{Size: 4})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	s.Put(cctx, "int_1/cancelled", strings.NewReader("abc"), blob.Meta{})
	if files := regularFiles(t, dir); len(files) != 0 {
		t.Fatalf("failed puts left %v", files)
	}
}

func TestFSDeletePrunesEmptyDirectories(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	put(t, s, "int_1/faces/abc/img1", "x")
	put(t, s, "int_1/faces/keep/img1", "y")
	if err := s.Delete(context.Background(), "int_1/faces/abc/img1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "int_1", "faces", "abc")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty directory left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "int_1", "faces", "keep")); err != nil {
		t.Fatalf("non-empty sibling removed: %v", err)
	}
	if err := s.Delete(context.Background(), "int_1/faces/keep/img1"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("data dir itself must survive: %v", err)
	}
	if len(entries) != 0 {
		t.Fatalf("data dir not empty: %v", entries)
	}
}

// A symlink planted in the data directory must not let the store read or
// write outside it.
func TestFSSymlinkEscapeRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir, outside := t.TempDir(), t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	if err := os.Symlink(outside, filepath.Join(dir, "int_1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "int_1/img", strings.NewReader("x"), blob.Meta{}); err == nil {
		t.Fatal("Put followed a symlink out of the data dir")
	}
	if files := regularFiles(t, outside); len(files) != 0 {
		t.Fatalf("wrote outside the data dir: %v", files)
	}
}

func TestFSRemoveStaleTemp(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	put(t, s, "int_1/faces/abc/img1", "x")
	sub := filepath.Join(dir, "int_1", "faces", "abc")
	stale, fresh := filepath.Join(sub, ".tmp-dead"), filepath.Join(sub, ".tmp-live")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveStaleTemp(context.Background(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemp = %d, %v", n, err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("stale temp file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh temp file (possibly an in-flight write) removed")
	}
	if got, _ := blobtest.MustGet(t, s, "int_1/faces/abc/img1"); string(got) != "x" {
		t.Fatal("blob damaged by cleanup")
	}
}

func TestNewFSValidation(t *testing.T) {
	if _, err := blob.NewFS(t.TempDir(), nil, 0); err == nil {
		t.Fatal("nil keyring accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.NewFS(file, testKeyring(t, "k1", 1), 0); err == nil {
		t.Fatal("data dir that is a file accepted")
	}
}

func TestNewFSDefaultLimit(t *testing.T) {
	s, err := blob.NewFS(t.TempDir(), testKeyring(t, "k1", 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Put(context.Background(), "k", strings.NewReader(""), blob.Meta{Size: blob.DefaultMaxSize + 1})
	if !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("default limit not applied: %v", err)
	}
}

func TestValidateKeyAccepts(t *testing.T) {
	for _, key := range []string{"a", "int_123/faces/abc/img1", "v/2024-01-01/selfie.mp4", "A-Z_0.9", strings.Repeat("s", 255)} {
		if err := blob.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q): %v", key, err)
		}
	}
}

func regularFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Cancelling the request mid-upload stops reading and stores nothing.
func TestFSPutStopsReadingOnCancel(t *testing.T) {
	dir := t.TempDir()
	s := newFS(t, dir, testKeyring(t, "k1", 1))
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancellingReader{cancel: cancel}
	if _, err := s.Put(ctx, "k", r, blob.Meta{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if r.reads > 1 {
		t.Fatalf("kept reading after cancellation (%d reads)", r.reads)
	}
	if files := regularFiles(t, dir); len(files) != 0 {
		t.Fatalf("cancelled put left %v", files)
	}
}

type cancellingReader struct {
	cancel func()
	reads  int
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	r.reads++
	r.cancel()
	return copy(p, "chunk"), nil
}
