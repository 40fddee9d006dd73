package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

const integrationCols = `id, name, created_at, match_threshold, liveness_threshold,
	max_attempts, retention_days, required_challenges, webhook_urls,
	callback_url_template, theme, public_key, sealed_aes_key, sealed_webhook_secret, policy_options`

func (c *conn) CreateIntegration(ctx context.Context, in *Integration) error {
	if in.ID == "" {
		in.ID = NewID("int_")
	}
	in.CreatedAt = stampOrNow(in.CreatedAt)
	args, err := integrationArgs(in)
	if err != nil {
		return wrap(err, "create integration %s", in.ID)
	}
	_, err = c.exec(ctx, `INSERT INTO integrations (`+integrationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append([]any{in.ID, in.Name, c.d.ts(in.CreatedAt)}, args...)...)
	return wrap(err, "create integration %s", in.ID)
}

func (c *conn) UpdateIntegration(ctx context.Context, in *Integration) error {
	args, err := integrationArgs(in)
	if err != nil {
		return wrap(err, "update integration %s", in.ID)
	}
	err = c.execOne(ctx, `UPDATE integrations SET name = ?,
		match_threshold = ?, liveness_threshold = ?, max_attempts = ?,
		retention_days = ?, required_challenges = ?, webhook_urls = ?,
		callback_url_template = ?, theme = ?, public_key = ?,
		sealed_aes_key = ?, sealed_webhook_secret = ?, policy_options = ?
		WHERE id = ?`,
		append(append([]any{in.Name}, args...), in.ID)...)
	return wrap(err, "update integration %s", in.ID)
}

// integrationArgs validates in and returns its mutable columns from
// match_threshold to sealed_webhook_secret, in integrationCols order.
func integrationArgs(in *Integration) ([]any, error) {
	if err := in.Policy.Validate(); err != nil {
		return nil, err
	}
	challenges, err := jsonText(in.Policy.RequiredChallenges, "[]")
	if err != nil {
		return nil, err
	}
	hooks, err := jsonText(in.WebhookURLs, "{}")
	if err != nil {
		return nil, err
	}
	theme, err := jsonArg(in.Theme)
	if err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	opts, err := json.Marshal(in.Policy.PolicyOptions)
	if err != nil {
		return nil, err
	}
	p := in.Policy
	return []any{
		p.MatchThreshold, p.LivenessThreshold, p.MaxAttempts, p.RetentionDays,
		challenges, hooks, in.CallbackURLTemplate, theme, nullString(in.PublicKey),
		in.SealedAESKey, in.SealedWebhookSecret, string(opts),
	}, nil
}

// jsonText encodes v, storing empty as the given empty document so the
// NOT NULL column never needs a special case when read back.
func jsonText(v any, empty string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if s := string(b); s != "null" {
		return s, nil
	}
	return empty, nil
}

func (c *conn) GetIntegration(ctx context.Context, id string) (*Integration, error) {
	in, err := c.getIntegration(ctx, "id", id)
	return in, wrap(err, "get integration %s", id)
}

func (c *conn) GetIntegrationByPublicKey(ctx context.Context, publicKey string) (*Integration, error) {
	if publicKey == "" {
		return nil, wrap(ErrNotFound, "get integration by empty public key")
	}
	in, err := c.getIntegration(ctx, "public_key", publicKey)
	return in, wrap(err, "get integration by public key")
}

// getIntegration reads one integration by a unique column (never user input).
func (c *conn) getIntegration(ctx context.Context, col, val string) (*Integration, error) {
	var in Integration
	var cols integrationRow
	err := c.scanRow(ctx, `SELECT `+integrationCols+` FROM integrations WHERE `+col+` = ?`,
		[]any{val}, cols.dest(&in)...)
	if err != nil {
		return nil, err
	}
	return &in, cols.decode(&in)
}

func (c *conn) ListIntegrations(ctx context.Context) ([]Integration, error) {
	rows, err := c.query(ctx, `SELECT `+integrationCols+` FROM integrations ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap(err, "list integrations")
	}
	out, err := collect(rows, func(r rowScanner) (Integration, error) {
		var in Integration
		var cols integrationRow
		if err := r.Scan(cols.dest(&in)...); err != nil {
			return in, err
		}
		return in, cols.decode(&in)
	})
	return out, wrap(err, "list integrations")
}

// integrationRow holds the columns that need decoding after Scan.
type integrationRow struct {
	challenges, hooks, options string
	theme, publicKey           sql.NullString
}

func (r *integrationRow) dest(in *Integration) []any {
	return []any{
		&in.ID, &in.Name, tsDest{&in.CreatedAt},
		&in.Policy.MatchThreshold, &in.Policy.LivenessThreshold,
		&in.Policy.MaxAttempts, &in.Policy.RetentionDays,
		&r.challenges, &r.hooks, &in.CallbackURLTemplate, &r.theme, &r.publicKey,
		&in.SealedAESKey, &in.SealedWebhookSecret, &r.options,
	}
}

func (r *integrationRow) decode(in *Integration) error {
	in.Theme = rawJSON(r.theme)
	in.PublicKey = r.publicKey.String
	if err := json.Unmarshal([]byte(r.challenges), &in.Policy.RequiredChallenges); err != nil {
		return fmt.Errorf("decode required challenges: %w", err)
	}
	if err := json.Unmarshal([]byte(r.options), &in.Policy.PolicyOptions); err != nil {
		return fmt.Errorf("decode policy options: %w", err)
	}
	if err := json.Unmarshal([]byte(r.hooks), &in.WebhookURLs); err != nil {
		return fmt.Errorf("decode webhook URLs: %w", err)
	}
	// Empty is stored as "[]"/"{}" and read back as nil, so a value that
	// went in nil comes out nil.
	if len(in.Policy.RequiredChallenges) == 0 {
		in.Policy.RequiredChallenges = nil
	}
	if len(in.WebhookURLs) == 0 {
		in.WebhookURLs = nil
	}
	return nil
}

func (c *conn) DeleteIntegration(ctx context.Context, id string) ([]string, error) {
	var keys []string
	err := c.atomic(ctx, func(c *conn) error {
		var err error
		keys, err = c.deleteIntegration(ctx, id)
		return err
	})
	return keys, wrap(err, "delete integration %s", id)
}

// deleteIntegration must run in a transaction. On PostgreSQL it locks the
// integration and its faces first: an image added concurrently then waits
// for this delete and fails, instead of being cascaded away without its
// blob key being returned.
func (c *conn) deleteIntegration(ctx context.Context, id string) ([]string, error) {
	var got string
	if err := c.scanRow(ctx, `SELECT id FROM integrations WHERE id = ?`+c.d.forUpdate,
		[]any{id}, &got); err != nil {
		return nil, err
	}
	if err := c.lockRows(ctx, `SELECT id FROM faces WHERE integration_id = ?`, id); err != nil {
		return nil, err
	}
	keys, err := c.blobKeys(ctx, `SELECT blob_key FROM face_images WHERE integration_id = ? ORDER BY blob_key`, id)
	if err != nil {
		return nil, err
	}
	files, err := c.blobKeys(ctx, `SELECT blob_key FROM verification_files WHERE integration_id = ? AND state <> 'purged' ORDER BY blob_key`, id)
	if err != nil {
		return nil, err
	}
	return append(keys, files...), c.execOne(ctx, `DELETE FROM integrations WHERE id = ?`, id)
}

// blobKeys runs a query returning one blob_key column.
func (c *conn) blobKeys(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (string, error) {
		var k string
		err := r.Scan(&k)
		return k, err
	})
}
