-- +goose Up
-- Bumped by every write that changes an integration's searchable
-- templates, so each node can tell its in-memory 1:N index is stale.
ALTER TABLE integrations ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE integrations DROP COLUMN index_version;
