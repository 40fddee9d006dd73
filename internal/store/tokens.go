package store

import (
	"context"
	"time"
)

// SpentTokens records single-use tokens that have been used.
type SpentTokens interface {
	// SpendToken marks an integration's token id as used until expiresAt.
	// It fails with ErrConflict when the id was spent before: a replay.
	SpendToken(ctx context.Context, integrationID, id string, expiresAt time.Time) error
	// DeleteExpiredTokens forgets spent tokens that expired before t (a
	// token past its expiry is refused for that alone).
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error)
}

func (c *conn) SpendToken(ctx context.Context, integrationID, id string, expiresAt time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO spent_tokens (integration_id, id, expires_at) VALUES (?, ?, ?)`,
		integrationID, id, c.d.ts(stamp(expiresAt)))
	return wrap(err, "spend token")
}

func (c *conn) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := c.exec(ctx, `DELETE FROM spent_tokens WHERE expires_at < ?`, c.d.ts(stamp(before)))
	if err != nil {
		return 0, wrap(err, "delete expired tokens")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "delete expired tokens")
}
