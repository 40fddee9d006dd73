-- Visage schema, PostgreSQL.

-- +goose Up
CREATE TABLE integrations (
    id                    TEXT             PRIMARY KEY,
    name                  TEXT             NOT NULL,
    created_at            TIMESTAMPTZ      NOT NULL,
    match_threshold       DOUBLE PRECISION NOT NULL,
    liveness_threshold    DOUBLE PRECISION NOT NULL,
    max_attempts          INTEGER          NOT NULL,
    retention_days        INTEGER          NOT NULL,
    required_challenges   JSONB            NOT NULL,
    webhook_urls          JSONB            NOT NULL,
    callback_url_template TEXT             NOT NULL,
    theme                 JSONB,
    -- NULL when the integration has none: NULLs never collide.
    public_key            TEXT             UNIQUE,
    sealed_aes_key        BYTEA,
    sealed_webhook_secret BYTEA
);

CREATE TABLE api_keys (
    id             TEXT        PRIMARY KEY,
    integration_id TEXT        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    secret_hash    BYTEA       NOT NULL,
    label          TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX api_keys_by_integration ON api_keys (integration_id, created_at, id);

CREATE TABLE faces (
    id             TEXT        PRIMARY KEY,
    integration_id TEXT        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    face_id        TEXT        NOT NULL,
    enabled        BOOLEAN     NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    metadata       JSONB,
    UNIQUE (integration_id, face_id),
    -- Target of the composite foreign keys below, which keep images and
    -- templates in their face's integration.
    UNIQUE (integration_id, id)
);
-- Keyset pagination order of ListFaces.
CREATE INDEX faces_page ON faces (integration_id, created_at, id);

CREATE TABLE face_images (
    id             TEXT        PRIMARY KEY,
    integration_id TEXT        NOT NULL,
    face_ref       TEXT        NOT NULL,
    challenge      TEXT        NOT NULL,
    blob_key       TEXT        NOT NULL,
    width          INTEGER     NOT NULL,
    height         INTEGER     NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, face_ref, id),
    FOREIGN KEY (integration_id, face_ref)
        REFERENCES faces (integration_id, id) ON DELETE CASCADE
);
CREATE INDEX face_images_by_face ON face_images (integration_id, face_ref, created_at);

CREATE TABLE templates (
    id             TEXT        PRIMARY KEY,
    integration_id TEXT        NOT NULL,
    face_ref       TEXT        NOT NULL,
    -- NULL for a template not computed from a stored image (MATCH SIMPLE
    -- then skips the image foreign key).
    image_id       TEXT,
    model_id       TEXT        NOT NULL,
    sealed         BYTEA       NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (integration_id, face_ref)
        REFERENCES faces (integration_id, id) ON DELETE CASCADE,
    FOREIGN KEY (integration_id, face_ref, image_id)
        REFERENCES face_images (integration_id, face_ref, id) ON DELETE CASCADE
);
CREATE INDEX templates_by_model ON templates (integration_id, model_id);
CREATE INDEX templates_by_face ON templates (integration_id, face_ref, created_at);
CREATE INDEX templates_by_image ON templates (integration_id, face_ref, image_id);

-- +goose Down
DROP TABLE templates;
DROP TABLE face_images;
DROP TABLE faces;
DROP TABLE api_keys;
DROP TABLE integrations;
