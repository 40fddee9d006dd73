package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// AuthSession is a face-authentication session: an enrolled person proves
// on the hosted page that they are in front of the camera now. The store
// keeps Result as opaque JSON owned by the service.
type AuthSession struct {
	ID            string // a hash of the session's token
	IntegrationID string
	Kind          string // "authenticate" or "best_image"
	FaceRef       string // the face to authenticate; "" for best_image
	Subject       string // what the client named the person by (a scanRef)
	Status        string
	Locale        string
	// Handoff moves the session to another device: a hash of its six-digit
	// code until typed, then of the token the typing device got ("" none).
	Handoff   string
	Attempts  int
	Result    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// AuthSessions persists face-authentication sessions.
type AuthSessions interface {
	// CreateAuthSession inserts s, filling CreatedAt and UpdatedAt. A
	// handoff held by another session fails with ErrConflict.
	CreateAuthSession(ctx context.Context, s *AuthSession) error
	// GetAuthSession finds a session by id, whatever its integration (the
	// token is the page's credential); ForUpdate locks it inside InTx.
	GetAuthSession(ctx context.Context, id string) (*AuthSession, error)
	GetAuthSessionForUpdate(ctx context.Context, id string) (*AuthSession, error)
	// GetAuthSessionByHandoff finds the session holding a handoff hash.
	GetAuthSessionByHandoff(ctx context.Context, handoff string) (*AuthSession, error)
	// UpdateAuthSession stores Status, Handoff, Attempts and Result and
	// bumps UpdatedAt.
	UpdateAuthSession(ctx context.Context, s *AuthSession) error
	// ListExpiredAuthSessions returns up to limit running sessions of any
	// integration past their expiry (for the sweeper).
	ListExpiredAuthSessions(ctx context.Context, now time.Time, limit int) ([]AuthSession, error)
	// DeleteEndedAuthSessions deletes sessions that ended (or expired)
	// before before, and says how many.
	DeleteEndedAuthSessions(ctx context.Context, before time.Time) (int64, error)
}

const authSessionCols = `id, integration_id, kind, face_ref, subject, status, locale, handoff, attempts, result, created_at, updated_at, expires_at`

func (c *conn) CreateAuthSession(ctx context.Context, s *AuthSession) error {
	s.CreatedAt = stampOrNow(s.CreatedAt)
	s.UpdatedAt, s.ExpiresAt = s.CreatedAt, stamp(s.ExpiresAt)
	res, err := jsonArg(s.Result)
	if err != nil {
		return wrap(err, "create auth session")
	}
	_, err = c.exec(ctx, `INSERT INTO auth_sessions (`+authSessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.IntegrationID, s.Kind, nullString(s.FaceRef), s.Subject, s.Status, s.Locale, nullString(s.Handoff), s.Attempts, res,
		c.d.ts(s.CreatedAt), c.d.ts(s.UpdatedAt), c.d.ts(s.ExpiresAt))
	return wrap(err, "create auth session")
}

func (c *conn) GetAuthSession(ctx context.Context, id string) (*AuthSession, error) {
	s, err := c.getAuthSession(ctx, `id = ?`, id, "")
	return s, wrap(err, "get auth session")
}

func (c *conn) GetAuthSessionForUpdate(ctx context.Context, id string) (*AuthSession, error) {
	s, err := c.getAuthSession(ctx, `id = ?`, id, c.d.forUpdate)
	return s, wrap(err, "get auth session")
}

func (c *conn) GetAuthSessionByHandoff(ctx context.Context, handoff string) (*AuthSession, error) {
	s, err := c.getAuthSession(ctx, `handoff = ?`, handoff, "")
	return s, wrap(err, "get auth session by handoff")
}

func (c *conn) getAuthSession(ctx context.Context, where, arg, lock string) (*AuthSession, error) {
	var s AuthSession
	var face, code, res sql.NullString
	err := c.scanRow(ctx, `SELECT `+authSessionCols+` FROM auth_sessions WHERE `+where+lock, []any{arg},
		&s.ID, &s.IntegrationID, &s.Kind, &face, &s.Subject, &s.Status, &s.Locale, &code, &s.Attempts, &res,
		tsDest{&s.CreatedAt}, tsDest{&s.UpdatedAt}, tsDest{&s.ExpiresAt})
	if err != nil {
		return nil, err
	}
	s.FaceRef, s.Handoff, s.Result = face.String, code.String, rawJSON(res)
	return &s, nil
}

func (c *conn) UpdateAuthSession(ctx context.Context, s *AuthSession) error {
	res, err := jsonArg(s.Result)
	if err != nil {
		return wrap(err, "update auth session")
	}
	s.UpdatedAt = now()
	err = c.execOne(ctx, `UPDATE auth_sessions SET status = ?, handoff = ?, attempts = ?, result = ?, updated_at = ?
		WHERE id = ? AND integration_id = ?`, s.Status, nullString(s.Handoff), s.Attempts, res, c.d.ts(s.UpdatedAt), s.ID, s.IntegrationID)
	return wrap(err, "update auth session")
}

func (c *conn) ListExpiredAuthSessions(ctx context.Context, at time.Time, limit int) ([]AuthSession, error) {
	rows, err := c.query(ctx, `SELECT id FROM auth_sessions WHERE status = 'in_progress' AND expires_at < ? ORDER BY expires_at LIMIT ?`,
		c.d.ts(stamp(at)), limit)
	if err != nil {
		return nil, wrap(err, "list expired auth sessions")
	}
	ids, err := collect(rows, func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, wrap(err, "list expired auth sessions")
	}
	out := make([]AuthSession, 0, len(ids))
	for _, id := range ids {
		s, err := c.GetAuthSession(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

func (c *conn) DeleteEndedAuthSessions(ctx context.Context, before time.Time) (int64, error) {
	b := c.d.ts(stamp(before))
	res, err := c.exec(ctx, `DELETE FROM auth_sessions WHERE (status <> 'in_progress' AND updated_at < ?) OR expires_at < ?`, b, b)
	if err != nil {
		return 0, wrap(err, "delete ended auth sessions")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "delete ended auth sessions")
}
