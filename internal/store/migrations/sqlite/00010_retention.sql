-- +goose Up
-- When a face was last used (enrolled, changed or verified): the
-- integration's retention_days count from here, so a face nobody has used
-- for that long is erased by the retention sweeper. Existing faces start
-- from their last change.
ALTER TABLE faces ADD COLUMN last_used_at INTEGER;
UPDATE faces SET last_used_at = updated_at;
CREATE INDEX faces_by_last_use ON faces (integration_id, last_used_at);
CREATE INDEX capture_sessions_by_update ON capture_sessions (status, updated_at);

-- +goose Down
DROP INDEX capture_sessions_by_update;
DROP INDEX faces_by_last_use;
ALTER TABLE faces DROP COLUMN last_used_at;
