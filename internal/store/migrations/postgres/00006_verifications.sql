-- +goose Up
-- Identity-verification cases. results, details and decision are JSON the
-- verification service owns; timer_at is the case's next timer (link
-- expiry, abandonment) so timers are rows, not goroutines: they survive
-- restarts and one node claims each.
CREATE TABLE verifications (
    id                TEXT    PRIMARY KEY,
    integration_id    TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    unique_identifier TEXT    NOT NULL,
    first_name        TEXT    NOT NULL,
    last_name         TEXT    NOT NULL,
    email             TEXT    NOT NULL,
    phone             TEXT    NOT NULL,
    document_type     TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    reason            TEXT,
    source            TEXT    NOT NULL,
    external_id       TEXT,
    results           JSONB,
    details           JSONB,
    decision          JSONB,
    attempts          INTEGER NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    started_at        TIMESTAMPTZ,
    submitted_at      TIMESTAMPTZ,
    decided_at        TIMESTAMPTZ,
    timer_at          TIMESTAMPTZ,
    UNIQUE (integration_id, id),
    UNIQUE (integration_id, external_id)
);
CREATE INDEX verifications_page ON verifications (integration_id, created_at, id);
CREATE INDEX verifications_by_status ON verifications (integration_id, status, created_at, id);
CREATE INDEX verifications_timer ON verifications (timer_at) WHERE timer_at IS NOT NULL;

-- A case's files; the bytes live encrypted in blob storage. state is
-- pending until the transaction that references the file commits.
CREATE TABLE verification_files (
    id              TEXT    PRIMARY KEY,
    integration_id  TEXT    NOT NULL,
    verification_id TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    blob_key        TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    file_name       TEXT    NOT NULL,
    size            BIGINT NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'stored', 'purged')),
    created_at      TIMESTAMPTZ NOT NULL,
    purged_at       TIMESTAMPTZ,
    FOREIGN KEY (integration_id, verification_id)
        REFERENCES verifications (integration_id, id) ON DELETE CASCADE
);
CREATE INDEX verification_files_by_case ON verification_files (integration_id, verification_id, created_at);
CREATE INDEX verification_files_by_state ON verification_files (integration_id, state, created_at);
CREATE INDEX verification_files_pending ON verification_files (created_at) WHERE state = 'pending';

-- +goose Down
DROP TABLE verification_files;
DROP TABLE verifications;
