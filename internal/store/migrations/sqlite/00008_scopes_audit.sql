-- +goose Up
-- What an API key may do: "verify", "enrol" or "admin" (each includes the
-- ones before it). Keys from before scopes keep full access.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';

-- Who changed what, when and from where: policy changes, unlocks, reviews,
-- webhook and key changes. Append-only.
CREATE TABLE audit_events (
    id             TEXT    PRIMARY KEY,
    integration_id TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    actor          TEXT    NOT NULL,
    remote         TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    detail         TEXT,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_events_by_integration ON audit_events (integration_id, created_at, id);

-- +goose Down
DROP TABLE audit_events;
ALTER TABLE api_keys DROP COLUMN scope;
