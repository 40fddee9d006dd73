// Package blobtest is the behaviour every blob.Store must show, written once
// and run against each backend (the filesystem store now, S3 later) so the
// backends cannot drift apart.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/visagehq/visage/internal/blob"
)

// Run runs the conformance suite. newStore must return an empty store whose
// size limit is maxSize.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store, maxSize int64) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		content := []byte("\xff\xd8\xff fake jpeg bytes")
		info, err := s.Put(ctx, "int_1/faces/abc/img1", bytes.NewReader(content), blob.Meta{ContentType: "image/jpeg"})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if info.Key != "int_1/faces/abc/img1" || info.Size != int64(len(content)) || info.ContentType != "image/jpeg" || info.Created.IsZero() {
			t.Fatalf("Put info = %+v", info)
		}
		got, gotInfo := MustGet(t, s, "int_1/faces/abc/img1")
		if !bytes.Equal(got, content) {
			t.Fatalf("Get content = %q, want %q", got, content)
		}
		if gotInfo.Key != info.Key || gotInfo.Size != info.Size || gotInfo.ContentType != info.ContentType || !gotInfo.Created.Equal(info.Created) {
			t.Fatalf("Get info = %+v, Put info = %+v", gotInfo, info)
		}
		if ok, err := s.Exists(ctx, "int_1/faces/abc/img1"); err != nil || !ok {
			t.Fatalf("Exists = %v, %v", ok, err)
		}
	})

	t.Run("EmptyBlobAndDefaultContentType", func(t *testing.T) {
		s := newStore(t)
		info, err := s.Put(ctx, "e", strings.NewReader(""), blob.Meta{})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if info.Size != 0 || info.ContentType != blob.DefaultContentType {
			t.Fatalf("info = %+v", info)
		}
		if got, _ := MustGet(t, s, "e"); len(got) != 0 {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("OverwriteReplaces", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", "first", "text/plain")
		mustPut(t, s, "k", "second", "image/png")
		got, info := MustGet(t, s, "k")
		if string(got) != "second" || info.ContentType != "image/png" {
			t.Fatalf("got %q %+v", got, info)
		}
	})

	t.Run("PrefixAndBlobCoexist", func(t *testing.T) {
		// Object stores allow "a/b" and "a/b/c" side by side; so must every
		// backend, whatever its layout.
		s := newStore(t)
		mustPut(t, s, "a/b", "parent", "")
		mustPut(t, s, "a/b/c", "child", "")
		if got, _ := MustGet(t, s, "a/b"); string(got) != "parent" {
			t.Fatalf("a/b = %q", got)
		}
		if got, _ := MustGet(t, s, "a/b/c"); string(got) != "child" {
			t.Fatalf("a/b/c = %q", got)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "a/b", "x", "")
		for _, key := range []string{"missing", "a/b/c", "a/bb", "a"} {
			if _, _, err := s.Get(ctx, key); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Get(%q): %v, want ErrNotFound", key, err)
			}
			if ok, err := s.Exists(ctx, key); err != nil || ok {
				t.Fatalf("Exists(%q) = %v, %v", key, ok, err)
			}
		}
	})

	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "int_1/faces/abc/img1", "x", "")
		mustPut(t, s, "int_1/faces/abc/img2", "y", "")
		for range 2 {
			if err := s.Delete(ctx, "int_1/faces/abc/img1"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
		if err := s.Delete(ctx, "never/existed"); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
		if _, _, err := s.Get(ctx, "int_1/faces/abc/img1"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
		if got, _ := MustGet(t, s, "int_1/faces/abc/img2"); string(got) != "y" {
			t.Fatal("Delete removed a sibling")
		}
		// The key can be reused after deletion.
		mustPut(t, s, "int_1/faces/abc/img1", "again", "")
		if got, _ := MustGet(t, s, "int_1/faces/abc/img1"); string(got) != "again" {
			t.Fatalf("re-Put after Delete = %q", got)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, key := range InvalidKeys() {
			if _, err := s.Put(ctx, key, strings.NewReader("x"), blob.Meta{}); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
			}
			if _, _, err := s.Get(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Get(%q): %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Delete(%q): %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Exists(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Exists(%q): %v, want ErrInvalidKey", key, err)
			}
		}
	})

	t.Run("SizeLimit", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Put(ctx, "max", bytes.NewReader(make([]byte, maxSize)), blob.Meta{}); err != nil {
			t.Fatalf("Put of exactly maxSize: %v", err)
		}
		_, err := s.Put(ctx, "over", bytes.NewReader(make([]byte, maxSize+1)), blob.Meta{})
		if !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("Put of maxSize+1: %v, want ErrTooLarge", err)
		}
		if ok, _ := s.Exists(ctx, "over"); ok {
			t.Fatal("oversized blob is visible")
		}
		// A declared size over the limit fails before the body is read.
		_, err = s.Put(ctx, "declared", failReader{t}, blob.Meta{Size: maxSize + 1})
		if !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("declared oversize: %v, want ErrTooLarge", err)
		}
		// An oversized upload must not replace what was there.
		mustPut(t, s, "keep", "original", "")
		if _, err := s.Put(ctx, "keep", bytes.NewReader(make([]byte, maxSize+1)), blob.Meta{}); !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("oversized overwrite: %v", err)
		}
		if got, _ := MustGet(t, s, "keep"); string(got) != "original" {
			t.Fatalf("failed overwrite clobbered blob: %q", got)
		}
	})

	t.Run("DeclaredSizeMismatch", func(t *testing.T) {
		s := newStore(t)
		for _, declared := range []int64{3, 10} {
			_, err := s.Put(ctx, "m", strings.NewReader("hello"), blob.Meta{Size: declared})
			if !errors.Is(err, blob.ErrSizeMismatch) {
				t.Fatalf("declared %d for 5 bytes: %v, want ErrSizeMismatch", declared, err)
			}
		}
		if ok, _ := s.Exists(ctx, "m"); ok {
			t.Fatal("mismatched blob is visible")
		}
		if _, err := s.Put(ctx, "m", strings.NewReader("hello"), blob.Meta{Size: 5}); err != nil {
			t.Fatalf("correct declared size: %v", err)
		}
	})

	t.Run("ReaderErrorLeavesNothing", func(t *testing.T) {
		s := newStore(t)
		boom := errors.New("client went away")
		r := io.MultiReader(strings.NewReader("partial"), errReader{boom})
		if _, err := s.Put(ctx, "broken", r, blob.Meta{}); !errors.Is(err, boom) {
			t.Fatalf("Put: %v, want the reader's error", err)
		}
		if ok, _ := s.Exists(ctx, "broken"); ok {
			t.Fatal("partial blob is visible")
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", "x", "")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, "new", strings.NewReader("x"), blob.Meta{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put: %v", err)
		}
		if _, _, err := s.Get(cctx, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get: %v", err)
		}
		if ok, _ := s.Exists(ctx, "new"); ok {
			t.Fatal("Put with cancelled context stored a blob")
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		s := newStore(t)
		const n = 32
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Go(func() {
				key := fmt.Sprintf("int_%d/faces/f%d/img", i%4, i)
				if _, err := s.Put(ctx, key, strings.NewReader(key), blob.Meta{}); err != nil {
					errs <- err
				}
			})
			// Writers racing on one key: one of them wins, whole.
			wg.Go(func() {
				if _, err := s.Put(ctx, "shared/key", strings.NewReader(fmt.Sprintf("writer-%02d", i)), blob.Meta{}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Put: %v", err)
		}
		for i := range n {
			key := fmt.Sprintf("int_%d/faces/f%d/img", i%4, i)
			if got, _ := MustGet(t, s, key); string(got) != key {
				t.Fatalf("%s = %q", key, got)
			}
		}
		if got, _ := MustGet(t, s, "shared/key"); !strings.HasPrefix(string(got), "writer-") || len(got) != len("writer-00") {
			t.Fatalf("shared key holds %q", got)
		}
	})

	t.Run("ConcurrentPutDeleteSameDirectory", func(t *testing.T) {
		// Deleting the last blob of a directory while another is being
		// written into it must not make the write fail.
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 50 {
			wg.Go(func() {
				key := fmt.Sprintf("int_9/faces/same/img%d", i)
				if _, err := s.Put(ctx, key, strings.NewReader("x"), blob.Meta{}); err != nil {
					errs <- err
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Put/Delete race: %v", err)
		}
	})
}

// InvalidKeys lists keys every backend must reject with ErrInvalidKey.
func InvalidKeys() []string {
	return []string{
		"",
		"/abs/path",
		"trailing/",
		"double//slash",
		"..",
		"a/../b",
		"a/..",
		"./a",
		"a/./b",
		".hidden",
		"a/.tmp-123",
		`back\slash`,
		`..\..\etc\passwd`,
		"C:/windows",
		"space in/key",
		"nul\x00byte",
		"new\nline",
		"ünïcode",
		"a/" + strings.Repeat("s", 256),
		strings.Repeat("a/", 512) + "a",
	}
}

// MustGet reads a blob fully or fails the test.
func MustGet(t *testing.T, s blob.Store, key string) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b, info
}

func mustPut(t *testing.T, s blob.Store, key, content, contentType string) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, strings.NewReader(content), blob.Meta{ContentType: contentType}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// failReader fails the test if a store reads a body it should have refused
// from its declared size alone.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("body was read although the declared size exceeds the limit")
	return 0, io.EOF
}
