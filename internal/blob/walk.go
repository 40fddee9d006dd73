package blob

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/crypto"
)

// Entry is one stored blob as a listing sees it, without opening it.
type Entry struct {
	Key      string
	Modified time.Time
	// KeyID is the id of the master key the blob is sealed under.
	KeyID string
}

// Lister is implemented by stores that can enumerate their blobs (for
// reconciliation against the database and for re-keying).
type Lister interface {
	// List calls fn for every blob whose key starts with prefix ("" for
	// all), in no particular order. A blob deleted meanwhile may or may not
	// be seen.
	List(ctx context.Context, prefix string, fn func(Entry) error) error
	// Reseal re-encrypts one blob under its current key (the master key,
	// or its integration's data key), in place and atomically; a blob
	// already under it is left alone. It reports
	// whether it rewrote the blob.
	Reseal(ctx context.Context, key string) (bool, error)
}

// List walks the blob files under prefix.
func (s *FS) List(ctx context.Context, prefix string, fn func(Entry) error) error {
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			if isNotExist(walkErr) {
				return nil
			}
			return walkErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			// Skip directories outside the prefix early.
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		key, ok := strings.CutSuffix(p, fileSuffix)
		if !ok || !strings.HasPrefix(key, prefix) || strings.HasPrefix(path.Base(p), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		e := Entry{Key: key, Modified: fi.ModTime()}
		if head, err := s.head(p); err == nil {
			e.KeyID, _ = crypto.EnvelopeKeyID(head)
		}
		return fn(e)
	})
	if err != nil {
		return fmt.Errorf("blob list %q: %w", prefix, err)
	}
	return nil
}

// head reads the start of a blob file: enough for the envelope's header.
func (s *FS) head(name string) ([]byte, error) {
	f, err := s.root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 300)
	n, err := f.Read(buf)
	if n == 0 {
		return nil, err
	}
	return buf[:n], nil
}

// Reseal opens a blob with whichever key sealed it and seals it again
// under the current key, replacing the file atomically.
func (s *FS) Reseal(ctx context.Context, key string) (bool, error) {
	if err := ValidateKey(key); err != nil {
		return false, fmt.Errorf("blob reseal: %w", err)
	}
	envelope, err := s.root.ReadFile(fileName(key))
	if err != nil {
		if isNotExist(err) {
			return false, fmt.Errorf("blob reseal %s: %w", key, ErrNotFound)
		}
		return false, fmt.Errorf("blob reseal %s: %w", key, err)
	}
	kr, err := s.keyringFor(ctx, key)
	if err != nil {
		return false, fmt.Errorf("blob reseal %s: %w", key, err)
	}
	if id, err := crypto.EnvelopeKeyID(envelope); err == nil && id == kr.CurrentID() {
		return false, nil
	}
	plain, err := kr.Open(envelope, additionalData(key))
	if err != nil {
		return false, fmt.Errorf("blob reseal %s: %w", key, err)
	}
	defer clear(plain)
	sealed, err := kr.Seal(plain, additionalData(key))
	if err != nil {
		return false, fmt.Errorf("blob reseal %s: %w", key, err)
	}
	if err := s.writeAtomic(ctx, key, sealed); err != nil {
		return false, fmt.Errorf("blob reseal %s: %w", key, err)
	}
	return true, nil
}
