-- +goose Up
-- A capture session drives the hosted face-2FA page: its id is the
-- unguessable token in the page URL; challenges (JSON array) is the
-- server's random order; progress (JSON) is each challenge's state,
-- updated frame by frame, so any node can serve the next frame.
CREATE TABLE capture_sessions (
    id             TEXT        PRIMARY KEY,
    integration_id TEXT        NOT NULL,
    face_ref       TEXT        NOT NULL,
    kind           TEXT        NOT NULL,
    status         TEXT        NOT NULL,
    challenges     JSONB       NOT NULL,
    nonce          TEXT        NOT NULL,
    progress       JSONB       NOT NULL,
    reason         TEXT        NOT NULL,
    frames         INTEGER     NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (integration_id, face_ref)
        REFERENCES faces (integration_id, id) ON DELETE CASCADE
);
CREATE INDEX capture_sessions_by_face ON capture_sessions (integration_id, face_ref);
CREATE INDEX capture_sessions_expiry ON capture_sessions (expires_at);

-- +goose Down
DROP TABLE capture_sessions;
