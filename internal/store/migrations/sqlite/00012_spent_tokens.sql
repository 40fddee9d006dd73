-- +goose Up
-- Single-use tokens (best-image tokens) that have been used. A token is
-- sealed and carries its own expiry, so only the spent ones need a row:
-- inserting the id is the spend, and a second insert of the same id is
-- a replay. Rows go once the token has expired anyway.
CREATE TABLE spent_tokens (
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (integration_id, id)
);
CREATE INDEX spent_tokens_by_expiry ON spent_tokens (expires_at);

-- +goose Down
DROP TABLE spent_tokens;
