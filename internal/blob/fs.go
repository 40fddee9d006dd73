package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/visagehq/visage/internal/crypto"
)

var _ Store = (*FS)(nil)

const (
	// fileSuffix is appended to a key's last segment to name its file. '@' is
	// outside the key charset, so a blob file can never share a name with a
	// directory made from another key's segment: "a/b" and "a/b/c" coexist as
	// "a/b@blob" and "a/b/c@blob", as they would in an object store.
	fileSuffix = "@blob"
	// tempPrefix marks in-flight writes. Key segments cannot start with a dot,
	// so temporary names never collide with blobs.
	tempPrefix = ".tmp-"

	blobFormatVersion = 1
	// adPrefix separates blob additional data from any other use of the same
	// keyring, so a sealed template can never be passed off as a blob.
	adPrefix = "visage/blob/v1\x00"

	dirPerm  = 0o700
	filePerm = 0o600
)

// FS stores blobs as files under a data directory, one file per blob,
// encrypted with a crypto.Keyring.
//
// Each blob is sealed as a single AEAD envelope, so it is held in memory
// whole (plaintext and ciphertext, about twice its size) during Put and Get.
// That is acceptable up to the size limit (DefaultMaxSize, 64 MiB); a larger
// limit would call for a chunked (STREAM-style) format instead.
//
// All file access goes through an os.Root, so a symlink planted inside the
// data directory cannot redirect reads or writes outside it.
type FS struct {
	root    *os.Root
	kr      *crypto.Keyring
	maxSize int64
	now     func() time.Time
	// tenant, when set, gives the keyring of the integration a key
	// belongs to (its first segment); kr seals everything otherwise.
	tenant func(ctx context.Context, integrationID string) (*crypto.Keyring, error)
}

// SealPerIntegration makes the store seal each blob with the keyring of
// the integration named by the key's first segment ("int_…/faces/…"),
// e.g. that integration's data key over the master keyring.
func (s *FS) SealPerIntegration(keyring func(ctx context.Context, integrationID string) (*crypto.Keyring, error)) {
	s.tenant = keyring
}

// keyringFor is the keyring of key's integration.
func (s *FS) keyringFor(ctx context.Context, key string) (*crypto.Keyring, error) {
	if s.tenant == nil {
		return s.kr, nil
	}
	integration, _, _ := strings.Cut(key, "/")
	kr, err := s.tenant(ctx, integration)
	if err != nil {
		return nil, fmt.Errorf("keyring of %s: %w", integration, err)
	}
	return kr, nil
}

// NewFS opens (creating if needed, mode 0700) a filesystem blob store at dir.
// maxSize limits each blob's plaintext size; zero or negative means
// DefaultMaxSize. Call Close when done.
func NewFS(dir string, kr *crypto.Keyring, maxSize int64) (*FS, error) {
	if kr == nil {
		return nil, errors.New("blob: new fs store: nil keyring")
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("blob: create data dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open data dir: %w", err)
	}
	return &FS{root: root, kr: kr, maxSize: maxSize, now: time.Now}, nil
}

// Close releases the data directory handle.
func (s *FS) Close() error { return s.root.Close() }

// storedMeta is the metadata sealed together with the content, so it is
// encrypted and authenticated like the content and needs no side file.
type storedMeta struct {
	ContentType string    `json:"contentType"`
	Created     time.Time `json:"created"`
}

// Put reads r fully (up to the size limit), seals it and installs the file
// atomically: temp file in the blob's directory, fsync, rename, fsync of the
// directory. A crash at any point leaves either the old blob or the new one
// under key, never a partial one; at worst an orphaned temp file (see
// RemoveStaleTemp).
func (s *FS) Put(ctx context.Context, key string, r io.Reader, meta Meta) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, fmt.Errorf("blob put: %w", err)
	}
	if meta.Size > s.maxSize {
		return Info{}, fmt.Errorf("blob put %s: %w: declared %d bytes, limit %d", key, ErrTooLarge, meta.Size, s.maxSize)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	info := Info{Key: key, ContentType: meta.ContentType, Created: s.now().UTC()}
	if info.ContentType == "" {
		info.ContentType = DefaultContentType
	}

	header, err := encodeHeader(storedMeta{ContentType: info.ContentType, Created: info.Created})
	if err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	// Build header+content in one buffer so the plaintext is not copied again
	// before sealing. Reading one byte past the limit tells "exactly at the
	// limit" from "over it" without trusting the declared size.
	var buf bytes.Buffer
	if meta.Size > 0 {
		buf.Grow(len(header) + int(meta.Size) + 1)
	}
	buf.Write(header)
	n, err := buf.ReadFrom(io.LimitReader(ctxReader{ctx, r}, s.maxSize+1))
	if err != nil {
		return Info{}, fmt.Errorf("blob put %s: read content: %w", key, err)
	}
	if n > s.maxSize {
		return Info{}, fmt.Errorf("blob put %s: %w: limit %d bytes", key, ErrTooLarge, s.maxSize)
	}
	if meta.Size > 0 && n != meta.Size {
		return Info{}, fmt.Errorf("blob put %s: %w: declared %d, got %d", key, ErrSizeMismatch, meta.Size, n)
	}
	info.Size = n

	kr, err := s.keyringFor(ctx, key)
	if err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	envelope, err := kr.Seal(buf.Bytes(), additionalData(key))
	if err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	clear(buf.Bytes()) // best effort: don't keep our plaintext copy of a face image alive
	if err := s.writeAtomic(ctx, key, envelope); err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	return info, nil
}

func (s *FS) writeAtomic(ctx context.Context, key string, data []byte) (err error) {
	name := fileName(key)
	dir := filepath.Dir(name)

	// A concurrent Delete prunes empty directories, so one may vanish between
	// MkdirAll and creating the temp file (or halfway through MkdirAll).
	// Retrying is enough to win that race: a directory holding our temp file
	// is never pruned.
	var tmp *os.File
	var tmpName string
	for attempt := 1; ; attempt++ {
		tmpName = filepath.Join(dir, tempPrefix+randomSuffix())
		err = s.root.MkdirAll(dir, dirPerm)
		if err == nil {
			tmp, err = s.root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		}
		if err == nil {
			break
		}
		if !isNotExist(err) || attempt == 5 {
			return fmt.Errorf("create temp file: %w", err)
		}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			s.root.Remove(tmpName)
		}
	}()

	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temp file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	// Last chance to honour cancellation; once renamed, the Put has happened.
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.root.Rename(tmpName, name); err != nil {
		return fmt.Errorf("install file: %w", err)
	}
	return s.syncDir(dir)
}

// syncDir makes a rename durable; without it a power cut could revert the
// directory entry after Put has reported success.
func (s *FS) syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there
	}
	d, err := s.root.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// Get reads, authenticates and decrypts the blob. Nothing is returned unless
// the whole blob verified, so a caller never processes a tampered prefix.
//
// No size limit is applied on read: lowering the limit must not make blobs
// stored under the old limit unreadable.
func (s *FS) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("blob get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	envelope, err := s.root.ReadFile(fileName(key))
	if isNotExist(err) {
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	kr, err := s.keyringFor(ctx, key)
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	plaintext, err := kr.Open(envelope, additionalData(key))
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	m, content, err := decodePlaintext(plaintext)
	if err != nil {
		// It authenticated, so this is a format bug or a version we don't
		// know, not tampering.
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	info := Info{Key: key, ContentType: m.ContentType, Size: int64(len(content)), Created: m.Created}
	return io.NopCloser(bytes.NewReader(content)), info, nil
}

// Delete removes the blob and then any directories left empty, so erasing a
// subject's images does not leave their ids behind as directory names.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	name := fileName(key)
	if err := s.root.Remove(name); err != nil && !isNotExist(err) {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	// Remove refuses non-empty directories, which is exactly the stop
	// condition; any error (including a concurrent Put refilling the
	// directory) just ends the pruning.
	for dir := filepath.Dir(name); dir != "."; dir = filepath.Dir(dir) {
		if s.root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Exists reports whether a blob file is present. It does not decrypt it.
func (s *FS) Exists(ctx context.Context, key string) (bool, error) {
	if err := ValidateKey(key); err != nil {
		return false, fmt.Errorf("blob exists: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("blob exists %s: %w", key, err)
	}
	st, err := s.root.Stat(fileName(key))
	if isNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob exists %s: %w", key, err)
	}
	return st.Mode().IsRegular(), nil
}

// RemoveStaleTemp deletes temporary files older than olderThan, left behind
// by a crash mid-Put. The age threshold makes it safe to run while other
// processes (other nodes sharing the directory) are writing.
func (s *FS) RemoveStaleTemp(ctx context.Context, olderThan time.Duration) (removed int, err error) {
	cutoff := s.now().Add(-olderThan)
	err = fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			if isNotExist(walkErr) {
				return nil // removed by a concurrent Delete
			}
			return walkErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone already
		}
		if fi.ModTime().Before(cutoff) {
			if err := s.root.Remove(filepath.FromSlash(p)); err != nil && !isNotExist(err) {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("blob remove stale temp files: %w", err)
	}
	return removed, nil
}

// fileName maps a validated key to its path inside the root.
func fileName(key string) string {
	return filepath.FromSlash(path.Clean(key) + fileSuffix)
}

// additionalData binds each envelope to its key, so a file copied or renamed
// to another key's path fails authentication instead of serving another
// person's image.
func additionalData(key string) []byte {
	return append([]byte(adPrefix), key...)
}

// isNotExist also treats ENOTDIR as missing: it means some path component is
// not a directory, so the blob cannot exist either.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func randomSuffix() string {
	b := make([]byte, 8)
	rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// encodeHeader produces version(1) | uvarint(len(meta)) | meta JSON; the
// content follows it in the sealed plaintext.
func encodeHeader(m storedMeta) ([]byte, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	h := make([]byte, 0, 1+binary.MaxVarintLen64+len(js))
	h = append(h, blobFormatVersion)
	h = binary.AppendUvarint(h, uint64(len(js)))
	return append(h, js...), nil
}

func decodePlaintext(p []byte) (storedMeta, []byte, error) {
	var m storedMeta
	if len(p) < 1 || p[0] != blobFormatVersion {
		return m, nil, errors.New("unsupported blob format")
	}
	n, w := binary.Uvarint(p[1:])
	if w <= 0 || n > uint64(len(p)-1-w) {
		return m, nil, errors.New("corrupt blob header")
	}
	start := 1 + w
	if err := json.Unmarshal(p[start:start+int(n)], &m); err != nil {
		return m, nil, fmt.Errorf("corrupt blob metadata: %w", err)
	}
	return m, p[start+int(n):], nil
}
