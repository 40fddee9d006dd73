package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// CaptureSession is one hosted-capture (face 2FA) session. The store keeps
// Challenges and Progress as opaque JSON owned by the service.
type CaptureSession struct {
	ID            string // the unguessable token in the page URL
	IntegrationID string
	FaceRef       string // Face.ID the captures are for
	Kind          string // "2fa-enrol"
	Status        string
	Challenges    json.RawMessage
	Nonce         string
	Progress      json.RawMessage
	Reason        string
	Frames        int // frames analysed so far (a bound against abuse)
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
}

// CaptureSessions persists capture sessions.
type CaptureSessions interface {
	// CreateCaptureSession inserts s, filling CreatedAt and UpdatedAt.
	CreateCaptureSession(ctx context.Context, s *CaptureSession) error
	// GetCaptureSession finds a session by token, whatever its integration
	// (the token is the credential of the hosted page).
	GetCaptureSession(ctx context.Context, id string) (*CaptureSession, error)
	// GetCaptureSessionForUpdate is GetCaptureSession that, inside InTx,
	// locks the row so concurrent frames of one session serialise.
	GetCaptureSessionForUpdate(ctx context.Context, id string) (*CaptureSession, error)
	// UpdateCaptureSession stores Status, Progress, Reason, Frames and
	// bumps UpdatedAt.
	UpdateCaptureSession(ctx context.Context, s *CaptureSession) error
	// ListCaptureSessions returns a face's sessions, newest first.
	ListCaptureSessions(ctx context.Context, integrationID, faceRef string) ([]CaptureSession, error)
	// ListExpiredCaptureSessions returns up to limit in-progress sessions
	// of any integration that expired before now (for the sweeper).
	ListExpiredCaptureSessions(ctx context.Context, now time.Time, limit int) ([]CaptureSession, error)
	// DeleteEndedCaptureSessions deletes sessions of any integration that
	// ended (any status but in_progress) before before, and says how many.
	DeleteEndedCaptureSessions(ctx context.Context, before time.Time) (int64, error)
}

const sessionCols = `id, integration_id, face_ref, kind, status, challenges, nonce, progress, reason, frames, created_at, updated_at, expires_at`

func (c *conn) CreateCaptureSession(ctx context.Context, s *CaptureSession) error {
	if s.ID == "" {
		s.ID = NewID("cap_")
	}
	s.CreatedAt = stampOrNow(s.CreatedAt)
	s.UpdatedAt = s.CreatedAt
	s.ExpiresAt = stamp(s.ExpiresAt)
	ch, err := jsonArg(s.Challenges)
	if err != nil {
		return wrap(err, "create capture session")
	}
	pr, err := jsonArg(s.Progress)
	if err != nil {
		return wrap(err, "create capture session")
	}
	_, err = c.exec(ctx, `INSERT INTO capture_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.IntegrationID, s.FaceRef, s.Kind, s.Status, ch, s.Nonce, pr, s.Reason, s.Frames,
		c.d.ts(s.CreatedAt), c.d.ts(s.UpdatedAt), c.d.ts(s.ExpiresAt))
	return wrap(err, "create capture session")
}

func (c *conn) GetCaptureSession(ctx context.Context, id string) (*CaptureSession, error) {
	s, err := c.getSession(ctx, id, "")
	return s, wrap(err, "get capture session")
}

func (c *conn) GetCaptureSessionForUpdate(ctx context.Context, id string) (*CaptureSession, error) {
	s, err := c.getSession(ctx, id, c.d.forUpdate)
	return s, wrap(err, "get capture session")
}

func (c *conn) getSession(ctx context.Context, id, lock string) (*CaptureSession, error) {
	var s CaptureSession
	var ch, pr sql.NullString
	err := c.scanRow(ctx, `SELECT `+sessionCols+` FROM capture_sessions WHERE id = ?`+lock, []any{id}, sessionDest(&s, &ch, &pr)...)
	if err != nil {
		return nil, err
	}
	s.Challenges, s.Progress = rawJSON(ch), rawJSON(pr)
	return &s, nil
}

func sessionDest(s *CaptureSession, ch, pr *sql.NullString) []any {
	return []any{&s.ID, &s.IntegrationID, &s.FaceRef, &s.Kind, &s.Status, ch, &s.Nonce, pr, &s.Reason, &s.Frames,
		tsDest{&s.CreatedAt}, tsDest{&s.UpdatedAt}, tsDest{&s.ExpiresAt}}
}

func (c *conn) UpdateCaptureSession(ctx context.Context, s *CaptureSession) error {
	pr, err := jsonArg(s.Progress)
	if err != nil {
		return wrap(err, "update capture session")
	}
	s.UpdatedAt = now()
	err = c.execOne(ctx, `UPDATE capture_sessions SET status = ?, progress = ?, reason = ?, frames = ?, updated_at = ?
		WHERE id = ? AND integration_id = ?`, s.Status, pr, s.Reason, s.Frames, c.d.ts(s.UpdatedAt), s.ID, s.IntegrationID)
	return wrap(err, "update capture session")
}

func (c *conn) ListCaptureSessions(ctx context.Context, integrationID, faceRef string) ([]CaptureSession, error) {
	rows, err := c.query(ctx, `SELECT `+sessionCols+` FROM capture_sessions WHERE integration_id = ? AND face_ref = ?
		ORDER BY created_at DESC, id DESC`, integrationID, faceRef)
	out, err := c.scanSessions(rows, err)
	return out, wrap(err, "list capture sessions")
}

func (c *conn) ListExpiredCaptureSessions(ctx context.Context, at time.Time, limit int) ([]CaptureSession, error) {
	rows, err := c.query(ctx, `SELECT `+sessionCols+` FROM capture_sessions WHERE status = 'in_progress' AND expires_at < ?
		ORDER BY expires_at LIMIT ?`, c.d.ts(stamp(at)), limit)
	out, err := c.scanSessions(rows, err)
	return out, wrap(err, "list expired capture sessions")
}

func (c *conn) scanSessions(rows *sql.Rows, err error) ([]CaptureSession, error) {
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (CaptureSession, error) {
		var s CaptureSession
		var ch, pr sql.NullString
		err := r.Scan(sessionDest(&s, &ch, &pr)...)
		s.Challenges, s.Progress = rawJSON(ch), rawJSON(pr)
		return s, err
	})
}

func (c *conn) DeleteEndedCaptureSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := c.exec(ctx, `DELETE FROM capture_sessions WHERE status <> 'in_progress' AND updated_at < ?`, c.d.ts(stamp(before)))
	if err != nil {
		return 0, wrap(err, "delete ended capture sessions")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "delete ended capture sessions")
}
