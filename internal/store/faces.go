package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

const (
	faceInsertCols = `id, integration_id, face_id, enabled, created_at, updated_at, metadata, liveness`
	faceCols       = faceInsertCols + `, failed_attempts, locked_at`
)

// Page sizes of ListFaces: the default for limit <= 0, and the cap.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

func (c *conn) CreateFace(ctx context.Context, f *Face) error {
	if f.ID == "" {
		f.ID = NewID("face_")
	}
	f.CreatedAt = stampOrNow(f.CreatedAt)
	f.UpdatedAt = f.CreatedAt
	meta, err := jsonArg(f.Metadata)
	if err != nil {
		return wrap(err, "create face %q", f.FaceID)
	}
	_, err = c.exec(ctx, `INSERT INTO faces (`+faceInsertCols+`, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.IntegrationID, f.FaceID, f.Enabled, c.d.ts(f.CreatedAt), c.d.ts(f.UpdatedAt), meta, f.Liveness, c.d.ts(f.UpdatedAt))
	return wrap(err, "create face %q", f.FaceID)
}

func (c *conn) GetFace(ctx context.Context, integrationID, ref string) (*Face, error) {
	f, err := c.getFace(ctx, "id", integrationID, ref)
	return f, wrap(err, "get face %s", ref)
}

func (c *conn) GetFaceByFaceID(ctx context.Context, integrationID, faceID string) (*Face, error) {
	f, err := c.getFace(ctx, "face_id", integrationID, faceID)
	return f, wrap(err, "get face %q", faceID)
}

// getFace reads one face of an integration by a unique column (never
// user input).
func (c *conn) getFace(ctx context.Context, col, integrationID, val string) (*Face, error) {
	var f Face
	var meta sql.NullString
	err := c.scanRow(ctx, `SELECT `+faceCols+` FROM faces WHERE integration_id = ? AND `+col+` = ?`,
		[]any{integrationID, val}, faceDest(&f, &meta)...)
	if err != nil {
		return nil, err
	}
	f.Metadata = rawJSON(meta)
	return &f, nil
}

func faceDest(f *Face, meta *sql.NullString) []any {
	return []any{&f.ID, &f.IntegrationID, &f.FaceID, &f.Enabled,
		tsDest{&f.CreatedAt}, tsDest{&f.UpdatedAt}, meta, &f.Liveness, &f.FailedAttempts, nullTSDest{&f.LockedAt}}
}

func (c *conn) FailVerification(ctx context.Context, integrationID, ref string, max int) (int, bool, error) {
	if max <= 0 {
		max = math.MaxInt32
	}
	var n int
	var locked bool
	err := c.scanRow(ctx, `UPDATE faces SET failed_attempts = failed_attempts + 1,
		locked_at = CASE WHEN locked_at IS NULL AND failed_attempts + 1 >= ? THEN ? ELSE locked_at END
		WHERE integration_id = ? AND id = ? RETURNING failed_attempts, locked_at IS NOT NULL`,
		[]any{max, c.d.ts(now()), integrationID, ref}, &n, &locked)
	return n, locked, wrap(err, "count a failed verification of face %s", ref)
}

func (c *conn) PassVerification(ctx context.Context, integrationID, ref string) error {
	err := c.execOne(ctx, `UPDATE faces SET failed_attempts = 0, last_used_at = ? WHERE integration_id = ? AND id = ? AND locked_at IS NULL`,
		c.d.ts(now()), integrationID, ref)
	if errors.Is(err, ErrNotFound) {
		if _, gerr := c.GetFace(ctx, integrationID, ref); gerr == nil {
			err = ErrLocked
		}
	}
	return wrap(err, "reset the failed verifications of face %s", ref)
}

func (c *conn) UnlockFace(ctx context.Context, integrationID, ref string) error {
	err := c.execOne(ctx, `UPDATE faces SET failed_attempts = 0, locked_at = NULL, updated_at = ? WHERE integration_id = ? AND id = ?`,
		c.d.ts(now()), integrationID, ref)
	return wrap(err, "unlock face %s", ref)
}

func (c *conn) UpdateFace(ctx context.Context, f *Face) error {
	meta, err := jsonArg(f.Metadata)
	if err != nil {
		return wrap(err, "update face %s", f.ID)
	}
	at := now()
	err = c.execOne(ctx, `UPDATE faces SET enabled = ?, metadata = ?, liveness = ?, updated_at = ?, last_used_at = ?
		WHERE integration_id = ? AND id = ?`,
		f.Enabled, meta, f.Liveness, c.d.ts(at), c.d.ts(at), f.IntegrationID, f.ID)
	if err != nil {
		return wrap(err, "update face %s", f.ID)
	}
	f.UpdatedAt = at
	return nil
}

func (c *conn) ListFaces(ctx context.Context, integrationID, cursor string, limit int) (FacePage, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return FacePage{}, wrap(err, "list faces")
	}
	limit = pageSize(limit)
	// Keyset pagination on (created_at, id): stable under concurrent
	// inserts and deletes, and index-backed (faces_page) at any depth,
	// unlike OFFSET. One extra row tells whether another page follows.
	query := `SELECT ` + faceCols + ` FROM faces WHERE integration_id = ?`
	args := []any{integrationID}
	if after != nil {
		query += ` AND (created_at > ? OR (created_at = ? AND id > ?))`
		ts := c.d.ts(after.createdAt)
		args = append(args, ts, ts, after.id)
	}
	query += ` ORDER BY created_at, id LIMIT ?`
	args = append(args, limit+1)

	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return FacePage{}, wrap(err, "list faces")
	}
	faces, err := collect(rows, func(r rowScanner) (Face, error) {
		var f Face
		var meta sql.NullString
		err := r.Scan(faceDest(&f, &meta)...)
		f.Metadata = rawJSON(meta)
		return f, err
	})
	if err != nil {
		return FacePage{}, wrap(err, "list faces")
	}
	return facePage(faces, limit), nil
}

// facePage trims the look-ahead row and makes the cursor of the next page.
func facePage(faces []Face, limit int) FacePage {
	if len(faces) <= limit {
		return FacePage{Faces: faces}
	}
	faces = faces[:limit]
	last := faces[limit-1]
	return FacePage{Faces: faces, Next: encodeCursor(faceCursor{createdAt: last.CreatedAt, id: last.ID})}
}

func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// faceCursor is the position after which the next page starts.
type faceCursor struct {
	createdAt time.Time
	id        string
}

// cursorJSON is the cursor's wire form before base64: opaque to clients,
// but easy to read when debugging.
type cursorJSON struct {
	T  int64  `json:"t"` // created_at, Unix microseconds
	ID string `json:"id"`
}

func encodeCursor(c faceCursor) string {
	b, _ := json.Marshal(cursorJSON{T: c.createdAt.UnixMicro(), ID: c.id}) // cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*faceCursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return nil, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	return &faceCursor{createdAt: time.UnixMicro(c.T).UTC(), id: c.ID}, nil
}

func (c *conn) DeleteFace(ctx context.Context, integrationID, ref string) ([]string, error) {
	var keys []string
	err := c.atomic(ctx, func(c *conn) error {
		var err error
		keys, err = c.deleteFace(ctx, integrationID, ref)
		return err
	})
	return keys, wrap(err, "delete face %s", ref)
}

// deleteFace must run in a transaction. It locks the face first (on
// PostgreSQL; SQLite's write transaction excludes other writers anyway), so
// an image being added concurrently either commits before the blob keys are
// read or fails afterwards: no image is cascaded away unreported.
func (c *conn) deleteFace(ctx context.Context, integrationID, ref string) ([]string, error) {
	var got string
	if err := c.scanRow(ctx, `SELECT id FROM faces WHERE integration_id = ? AND id = ?`+c.d.forUpdate,
		[]any{integrationID, ref}, &got); err != nil {
		return nil, err
	}
	keys, err := c.blobKeys(ctx, `SELECT blob_key FROM face_images
		WHERE integration_id = ? AND face_ref = ? ORDER BY blob_key`, integrationID, ref)
	if err != nil {
		return nil, err
	}
	// Images and templates go with the face: ON DELETE CASCADE.
	return keys, c.execOne(ctx, `DELETE FROM faces WHERE integration_id = ? AND id = ?`, integrationID, ref)
}

func (c *conn) ListUnusedFaces(ctx context.Context, integrationID string, before time.Time, limit int) ([]Face, error) {
	rows, err := c.query(ctx, `SELECT `+faceCols+` FROM faces WHERE integration_id = ? AND last_used_at < ?
		ORDER BY last_used_at, id LIMIT ?`, integrationID, c.d.ts(stamp(before)), limit)
	if err != nil {
		return nil, wrap(err, "list unused faces of %s", integrationID)
	}
	out, err := collect(rows, func(r rowScanner) (Face, error) {
		var f Face
		var meta sql.NullString
		err := r.Scan(faceDest(&f, &meta)...)
		f.Metadata = rawJSON(meta)
		return f, err
	})
	return out, wrap(err, "list unused faces of %s", integrationID)
}

func (c *conn) FaceUnusedSince(ctx context.Context, integrationID, ref string, before time.Time) (bool, error) {
	var id string
	err := c.scanRow(ctx, `SELECT id FROM faces WHERE integration_id = ? AND id = ? AND last_used_at < ?`+c.d.forUpdate,
		[]any{integrationID, ref, c.d.ts(stamp(before))}, &id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, wrap(err, "check last use of face %s", ref)
}
