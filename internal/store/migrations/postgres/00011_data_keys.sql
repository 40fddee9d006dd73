-- +goose Up
-- Each integration's data key: a random AES-256 key, sealed (wrapped) by
-- the master key, that seals the integration's images, frames, documents
-- and templates. Rotating the master key re-wraps these few bytes instead
-- of every file; deleting the integration deletes its key, so whatever of
-- its data survives in a backup can no longer be opened. NULL until first
-- needed (integrations created before this migration).
ALTER TABLE integrations ADD COLUMN sealed_data_key BYTEA;

-- +goose Down
ALTER TABLE integrations DROP COLUMN sealed_data_key;
