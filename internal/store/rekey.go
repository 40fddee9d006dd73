package store

import (
	"context"
)

func (c *conn) ListAllTemplates(ctx context.Context, afterID string, limit int) ([]Template, error) {
	rows, err := c.query(ctx, `SELECT `+templateCols+` FROM templates t WHERE t.id > ? ORDER BY t.id LIMIT ?`, afterID, max(limit, 1))
	if err != nil {
		return nil, wrap(err, "list templates after %q", afterID)
	}
	out, err := collect(rows, scanTemplate)
	return out, wrap(err, "list templates after %q", afterID)
}

func (c *conn) UpdateTemplateSealed(ctx context.Context, integrationID, id string, sealed []byte) error {
	err := c.execOne(ctx, `UPDATE templates SET sealed = ? WHERE integration_id = ? AND id = ?`, sealed, integrationID, id)
	return wrap(err, "reseal template %s", id)
}
