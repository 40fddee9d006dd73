package store

import (
	"context"
	"fmt"
	"time"
)

const apiKeyCols = `id, integration_id, secret_hash, label, created_at, last_used_at, revoked_at, scope`

func (c *conn) CreateAPIKey(ctx context.Context, k *APIKey) error {
	if k.ID == "" {
		k.ID = NewID("key_")
	}
	k.CreatedAt = stampOrNow(k.CreatedAt)
	k.LastUsedAt, k.RevokedAt = stampPtr(k.LastUsedAt), stampPtr(k.RevokedAt)
	if k.Scope == "" {
		k.Scope = ScopeAdmin
	}
	if !ValidScope(k.Scope) {
		return wrap(fmt.Errorf("%w: scope %q (verify, enrol or admin)", ErrInvalid, k.Scope), "create API key %s", k.ID)
	}
	_, err := c.exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.IntegrationID, k.SecretHash, k.Label, c.d.ts(k.CreatedAt),
		c.d.nullTS(k.LastUsedAt), c.d.nullTS(k.RevokedAt), k.Scope)
	return wrap(err, "create API key %s", k.ID)
}

func (c *conn) GetAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	err := c.scanRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, []any{id}, apiKeyDest(&k)...)
	if err != nil {
		return nil, wrap(err, "get API key %s", id)
	}
	return &k, nil
}

func (c *conn) ListAPIKeys(ctx context.Context, integrationID string) ([]APIKey, error) {
	rows, err := c.query(ctx, `SELECT `+apiKeyCols+` FROM api_keys
		WHERE integration_id = ? ORDER BY created_at, id`, integrationID)
	if err != nil {
		return nil, wrap(err, "list API keys of %s", integrationID)
	}
	out, err := collect(rows, func(r rowScanner) (APIKey, error) {
		var k APIKey
		err := r.Scan(apiKeyDest(&k)...)
		return k, err
	})
	return out, wrap(err, "list API keys of %s", integrationID)
}

func (c *conn) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	err := c.execOne(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, c.d.ts(stamp(at)), id)
	return wrap(err, "touch API key %s", id)
}

func (c *conn) RevokeAPIKey(ctx context.Context, integrationID, id string, at time.Time) error {
	err := c.execOne(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?)
		WHERE integration_id = ? AND id = ?`, c.d.ts(stamp(at)), integrationID, id)
	return wrap(err, "revoke API key %s", id)
}

func apiKeyDest(k *APIKey) []any {
	return []any{&k.ID, &k.IntegrationID, &k.SecretHash, &k.Label, tsDest{&k.CreatedAt},
		nullTSDest{&k.LastUsedAt}, nullTSDest{&k.RevokedAt}, &k.Scope}
}

// stampPtr is stamp for an optional time.
func stampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := stamp(*t)
	return &s
}
