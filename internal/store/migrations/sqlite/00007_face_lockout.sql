-- +goose Up
-- Failed verifications in a row, and when the face was locked for them
-- (the integration's max_attempts); a success resets the count, an
-- operator's unlock clears both.
ALTER TABLE faces ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE faces ADD COLUMN locked_at INTEGER;

-- +goose Down
ALTER TABLE faces DROP COLUMN locked_at;
ALTER TABLE faces DROP COLUMN failed_attempts;
