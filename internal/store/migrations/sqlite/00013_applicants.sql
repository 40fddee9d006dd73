-- +goose Up
-- Applicants: validation requests of the document-and-selfie registration
-- and 1:N authorisation flow (the Validation API, seed 003). An applicant
-- is registered once (attempts counts those tries, at most max_attempts)
-- and then authorises with its face; auth_failures counts failed
-- authorisations in a row. profile_id is the face id of the enrolled face
-- a successful registration saved. result is the last attempt's outcome,
-- JSON the applicant service owns.
CREATE TABLE applicants (
    id             TEXT    PRIMARY KEY,
    integration_id TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    subject        TEXT    NOT NULL,
    purpose        TEXT    NOT NULL CHECK (purpose IN ('registration', 'authorization')),
    status         TEXT    NOT NULL CHECK (status IN ('open', 'completed', 'closed')),
    profile_id     TEXT    NOT NULL,
    endeavor_id    TEXT    NOT NULL,
    callback_url   TEXT    NOT NULL,
    max_attempts   INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 5),
    attempts       INTEGER NOT NULL,
    auth_attempts  INTEGER NOT NULL,
    auth_failures  INTEGER NOT NULL,
    result         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    completed_at   INTEGER,
    closed_at      INTEGER
) STRICT;
CREATE INDEX applicants_by_subject ON applicants (integration_id, subject, completed_at);

-- +goose Down
DROP TABLE applicants;
