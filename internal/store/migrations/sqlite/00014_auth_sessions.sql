-- +goose Up
-- Face-authentication sessions: a person who already has an enrolled face
-- proves it is them, now, on the hosted page (passive liveness and 1:1);
-- kind best_image has no face: its page seals one live selfie into a
-- best-image token for the client.
-- id is a hash of the session's token. handoff moves the session to
-- another device: a hash of the optional six-digit code until someone
-- types it, then a hash of the token that device got; unique among the
-- sessions holding one.
CREATE TABLE auth_sessions (
    id             TEXT    PRIMARY KEY,
    integration_id TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    face_ref       TEXT,
    subject        TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    locale         TEXT    NOT NULL,
    handoff        TEXT,
    attempts       INTEGER NOT NULL,
    result         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    FOREIGN KEY (integration_id, face_ref)
        REFERENCES faces (integration_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX auth_sessions_by_handoff ON auth_sessions (handoff) WHERE handoff IS NOT NULL;
CREATE INDEX auth_sessions_by_update ON auth_sessions (status, updated_at);

-- +goose Down
DROP TABLE auth_sessions;
