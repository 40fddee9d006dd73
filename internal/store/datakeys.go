package store

import (
	"bytes"
	"context"
)

// DataKeys persists each integration's wrapped data key. The key is kept
// apart from Integration on purpose: UpdateIntegration overwrites every
// column it knows, and a stale copy must never be able to erase a key.
type DataKeys interface {
	// GetDataKey returns the integration's sealed data key, nil when it has
	// none yet; ErrNotFound when there is no such integration.
	GetDataKey(ctx context.Context, integrationID string) ([]byte, error)
	// SwapDataKey stores sealed as the integration's data key if the
	// stored one is still old (nil: none yet), and reports whether it did;
	// false means another node got there first (read it again).
	SwapDataKey(ctx context.Context, integrationID string, old, sealed []byte) (bool, error)
}

func (c *conn) GetDataKey(ctx context.Context, integrationID string) ([]byte, error) {
	var k []byte
	err := c.scanRow(ctx, `SELECT sealed_data_key FROM integrations WHERE id = ?`, []any{integrationID}, &k)
	return k, wrap(err, "get data key of %s", integrationID)
}

func (c *conn) SwapDataKey(ctx context.Context, integrationID string, old, sealed []byte) (bool, error) {
	query, args := `UPDATE integrations SET sealed_data_key = ? WHERE id = ? AND sealed_data_key IS NULL`, []any{sealed, integrationID}
	if old != nil {
		query, args = `UPDATE integrations SET sealed_data_key = ? WHERE id = ? AND sealed_data_key = ?`, []any{sealed, integrationID, old}
	}
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return false, wrap(err, "store data key of %s", integrationID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(err, "store data key of %s", integrationID)
	}
	if n == 0 {
		// Lost the race, or no such integration: tell them apart.
		cur, err := c.GetDataKey(ctx, integrationID)
		if err != nil {
			return false, err
		}
		return bytes.Equal(cur, sealed), nil
	}
	return true, nil
}
