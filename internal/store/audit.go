package store

import (
	"context"
	"database/sql"
	"time"
)

const auditCols = `id, integration_id, actor, remote, action, subject, detail, created_at`

func (c *conn) AddAuditEvent(ctx context.Context, e *AuditEvent) error {
	if e.ID == "" {
		e.ID = NewID("aud_")
	}
	e.CreatedAt = stampOrNow(e.CreatedAt)
	detail, err := jsonArg(e.Detail)
	if err != nil {
		return wrap(err, "add audit event %s", e.Action)
	}
	_, err = c.exec(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.IntegrationID, e.Actor, e.Remote, e.Action, e.Subject, detail, c.d.ts(e.CreatedAt))
	return wrap(err, "add audit event %s", e.Action)
}

func (c *conn) ListAuditEvents(ctx context.Context, integrationID string, after AuditCursor, limit int) ([]AuditEvent, error) {
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	before := after.At
	if before.IsZero() {
		before = now().Add(time.Second)
	}
	// Events of one instant are ordered by id, so a page boundary never
	// skips or repeats one.
	ts := c.d.ts(stamp(before))
	rows, err := c.query(ctx, `SELECT `+auditCols+` FROM audit_events WHERE integration_id = ?
		AND (created_at < ? OR (created_at = ? AND ? <> '' AND id < ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`, integrationID, ts, ts, after.ID, after.ID, limit)
	if err != nil {
		return nil, wrap(err, "list audit events of %s", integrationID)
	}
	out, err := collect(rows, func(r rowScanner) (AuditEvent, error) {
		var e AuditEvent
		var detail sql.NullString
		err := r.Scan(&e.ID, &e.IntegrationID, &e.Actor, &e.Remote, &e.Action, &e.Subject, &detail, tsDest{&e.CreatedAt})
		e.Detail = rawJSON(detail)
		return e, err
	})
	return out, wrap(err, "list audit events of %s", integrationID)
}
