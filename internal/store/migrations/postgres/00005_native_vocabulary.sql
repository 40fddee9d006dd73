-- +goose Up
-- Challenge names become Visage's own (smile, blink, turn_left,
-- turn_right); the Identity Gram adapter speaks its "2fa-…" names.
UPDATE face_images SET challenge = CASE challenge
    WHEN '2fa-smile' THEN 'smile' WHEN '2fa-eyeblink' THEN 'blink'
    WHEN '2fa-left' THEN 'turn_left' WHEN '2fa-right' THEN 'turn_right'
    ELSE challenge END;
UPDATE capture_sessions SET
    challenges = REPLACE(REPLACE(REPLACE(REPLACE(challenges::text,
        '"2fa-smile"', '"smile"'), '"2fa-eyeblink"', '"blink"'), '"2fa-left"', '"turn_left"'), '"2fa-right"', '"turn_right"')::jsonb,
    progress = REPLACE(REPLACE(REPLACE(REPLACE(progress::text,
        '"2fa-smile"', '"smile"'), '"2fa-eyeblink"', '"blink"'), '"2fa-left"', '"turn_left"'), '"2fa-right"', '"turn_right"')::jsonb;
UPDATE integrations SET required_challenges = REPLACE(REPLACE(REPLACE(REPLACE(required_challenges::text,
    '"2fa-smile"', '"smile"'), '"2fa-eyeblink"', '"blink"'), '"2fa-left"', '"turn_left"'), '"2fa-right"', '"turn_right"')::jsonb;
-- Thresholds equal to the old copied defaults were never chosen by anyone:
-- 0 now means "the model manifest's default", so a new embedding model
-- moves them.
UPDATE integrations SET match_threshold = 0 WHERE match_threshold = 70;
UPDATE integrations SET liveness_threshold = 0 WHERE liveness_threshold = 0.5;
-- Policy switches without a column of their own (JSON object).
ALTER TABLE integrations ADD COLUMN policy_options TEXT NOT NULL DEFAULT '{}';
-- How the face's enrolment proved liveness: active (hosted page
-- challenges), passive (API images), none (skipped); '' before this.
ALTER TABLE faces ADD COLUMN liveness TEXT NOT NULL DEFAULT '';
-- Each surface sends its webhooks with its own User-Agent.
ALTER TABLE webhook_deliveries ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN user_agent;
ALTER TABLE faces DROP COLUMN liveness;
ALTER TABLE integrations DROP COLUMN policy_options;
