package store

import "context"

// IndexVersions tracks changes to an integration's searchable templates.
// Nodes keep an in-memory 1:N index each; comparing versions tells a node
// that another changed the data (enrolled, deleted, disabled) since it
// loaded, so deleted faces stop matching everywhere.
type IndexVersions interface {
	// BumpIndexVersion increments the version and returns the new value;
	// call it in the transaction of the change.
	BumpIndexVersion(ctx context.Context, integrationID string) (int64, error)
	// IndexVersion reads the current version.
	IndexVersion(ctx context.Context, integrationID string) (int64, error)
}

func (c *conn) BumpIndexVersion(ctx context.Context, integrationID string) (int64, error) {
	var v int64
	err := c.scanRow(ctx, `UPDATE integrations SET index_version = index_version + 1 WHERE id = ? RETURNING index_version`,
		[]any{integrationID}, &v)
	return v, wrap(err, "bump index version")
}

func (c *conn) IndexVersion(ctx context.Context, integrationID string) (int64, error) {
	var v int64
	err := c.scanRow(ctx, `SELECT index_version FROM integrations WHERE id = ?`, []any{integrationID}, &v)
	return v, wrap(err, "index version")
}
