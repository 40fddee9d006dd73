// Package blob stores face images and selfie videos. Store is the
// backend-neutral contract (a local filesystem today, S3-compatible storage
// for multi-node deployments later); every implementation encrypts at rest.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Errors callers branch on; they are returned wrapped, so use errors.Is.
// Get additionally returns errors wrapping crypto.ErrTampered or
// crypto.ErrUnknownKey when a stored blob fails to decrypt.
var (
	ErrInvalidKey   = errors.New("invalid blob key")
	ErrNotFound     = errors.New("blob not found")
	ErrTooLarge     = errors.New("blob too large")
	ErrSizeMismatch = errors.New("blob size does not match declared size")
)

// DefaultMaxSize bounds a single blob when the caller gives no limit. It
// covers the largest upload any surface accepts (50 MB selfie videos) with
// headroom.
const DefaultMaxSize int64 = 64 << 20

// DefaultContentType is recorded when Put is given none.
const DefaultContentType = "application/octet-stream"

// Meta describes a blob being written.
type Meta struct {
	ContentType string
	// Size, if positive, is the exact length the caller expects r to yield.
	// Put fails with ErrSizeMismatch otherwise, and with ErrTooLarge before
	// reading anything if it exceeds the store's limit. Object stores want a
	// length up front, so callers should pass it when they know it (multipart
	// uploads usually do). Zero means unknown.
	Size int64
}

// Info describes a stored blob. Size is the plaintext length.
type Info struct {
	Key         string
	ContentType string
	Size        int64
	Created     time.Time
}

// Store is implemented by every blob backend. Keys are validated by
// ValidateKey. Implementations must be safe for concurrent use, must never
// expose a partially written blob, and must authenticate what they return:
// Get either yields exactly what Put stored under that key or fails.
type Store interface {
	// Put stores r under key, replacing any blob already there. Nothing is
	// visible under key unless Put returns nil.
	Put(ctx context.Context, key string, r io.Reader, meta Meta) (Info, error)
	// Get returns the blob's content, which the caller must close. It returns
	// ErrNotFound if there is no blob under key.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Delete removes the blob. Deleting a missing blob is not an error, so
	// retention jobs and erasure requests can simply be retried.
	Delete(ctx context.Context, key string) error
	// Exists reports whether a blob is stored under key. It does not read or
	// authenticate the content.
	Exists(ctx context.Context, key string) (bool, error)
}

const (
	maxKeyLen     = 1024 // S3's object key limit
	maxSegmentLen = 255  // common filesystem name limit
)

// ValidateKey checks a blob key: slash-separated segments such as
// "int_123/faces/abc/img1", each 1-255 characters from [A-Za-z0-9._-] and not
// starting with a dot, at most 1024 bytes in all.
//
// The charset is deliberately narrow so the same key is safe as a file path
// on any OS and as an object key on any S3-compatible service without
// escaping: it rules out "..", absolute paths, backslashes, drive letters,
// control characters and Unicode normalisation surprises in one rule. Callers
// with free-form identifiers (a client's faceId, say) must encode or hash
// them into a segment. Leading dots are reserved for implementations'
// temporary files.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: key is %d bytes, limit %d", ErrInvalidKey, len(key), maxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: %q has an empty segment (leading, trailing or double slash)", ErrInvalidKey, key)
		case len(seg) > maxSegmentLen:
			return fmt.Errorf("%w: %q has a segment longer than %d bytes", ErrInvalidKey, key, maxSegmentLen)
		case seg[0] == '.':
			return fmt.Errorf("%w: %q has a segment starting with a dot", ErrInvalidKey, key)
		}
		for i := 0; i < len(seg); i++ {
			if !isKeyChar(seg[i]) {
				return fmt.Errorf("%w: %q contains %q; allowed are [A-Za-z0-9._-] and / between segments", ErrInvalidKey, key, seg[i])
			}
		}
	}
	return nil
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ctxReader stops a long upload copy once the request is cancelled, instead
// of reading tens of megabytes nobody will use.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
