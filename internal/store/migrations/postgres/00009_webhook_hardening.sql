-- Webhook hardening, PostgreSQL: per-integration grants of non-public
-- destinations, webhook-secret rotation with an overlap window, and short
-- response excerpts in the delivery log.

-- +goose Up
-- The non-public prefixes an operator lets one integration's webhooks
-- reach, within the server's VISAGE_WEBHOOK_ALLOW_CIDRS ceiling. Without a
-- row here an integration reaches public addresses only.
CREATE TABLE webhook_grants (
    integration_id TEXT        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    -- Canonical CIDR ("10.20.0.0/16"), so one range has one row. TEXT, not
    -- cidr: the application parses and matches it.
    prefix         TEXT        NOT NULL,
    note           TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, prefix)
);

-- Secrets a rotation replaced: deliveries are signed with them too until
-- expires_at, so receivers can switch to the new secret without a gap.
-- Sealed exactly as integrations.sealed_webhook_secret (same additional
-- data), since the bytes are moved here from there.
CREATE TABLE webhook_retired_secrets (
    id             TEXT        PRIMARY KEY,
    integration_id TEXT        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    sealed_secret  BYTEA       NOT NULL,
    retired_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_retired_secrets_by_integration ON webhook_retired_secrets (integration_id, expires_at);
CREATE INDEX webhook_retired_secrets_expiry ON webhook_retired_secrets (expires_at);

-- Response bodies recorded so far may come from internal services a
-- tenant was never meant to read (the old global allow-list); which ones
-- cannot be told afterwards, so none is kept.
UPDATE webhook_attempts SET response_body = '' WHERE response_body <> '';

-- +goose Down
-- The cleared response bodies are not restored.
DROP TABLE webhook_retired_secrets;
DROP TABLE webhook_grants;
