-- Webhook outbox, PostgreSQL. A delivery is one event for one destination
-- URL; it is written in the transaction of the state change it reports, so
-- the two commit together, and a worker sends it later (at least once).

-- +goose Up
CREATE TABLE webhook_deliveries (
    id              TEXT        PRIMARY KEY,
    integration_id  TEXT        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    event           TEXT        NOT NULL,
    url             TEXT        NOT NULL,
    -- TEXT, not jsonb: the body is signed and sent byte for byte, and jsonb
    -- would reorder its keys.
    payload         TEXT        NOT NULL,
    status          TEXT        NOT NULL
        CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
    -- Attempts since enqueue or the last manual redelivery: drives the
    -- backoff and giving up. total_attempts never resets and numbers the log.
    attempts        INTEGER     NOT NULL,
    total_attempts  INTEGER     NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    -- The lease of the worker sending it (status 'delivering'); once it
    -- passes, the delivery is due again (the worker died mid-send).
    locked_until    TIMESTAMPTZ,
    lease_token     TEXT,
    last_status     INTEGER     NOT NULL,
    last_error      TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    -- Target of the attempts' composite foreign key (tenant scoping).
    UNIQUE (integration_id, id)
);
-- What a claim scans: due pending rows and expired leases.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (locked_until) WHERE status = 'delivering';
-- Keyset pagination of the delivery log, with and without a status filter.
CREATE INDEX webhook_deliveries_page ON webhook_deliveries (integration_id, created_at, id);
CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (integration_id, status, created_at, id);
-- Pruning of finished deliveries.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at)
    WHERE status IN ('delivered', 'failed');

CREATE TABLE webhook_attempts (
    id              TEXT        PRIMARY KEY,
    integration_id  TEXT        NOT NULL,
    delivery_id     TEXT        NOT NULL,
    number          INTEGER     NOT NULL,
    request_headers TEXT        NOT NULL,
    request_body    TEXT        NOT NULL,
    -- 0 when no response arrived (refused, timed out, connection reset).
    response_status INTEGER     NOT NULL,
    response_body   TEXT        NOT NULL,
    latency_ms      BIGINT      NOT NULL,
    error           TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (integration_id, delivery_id)
        REFERENCES webhook_deliveries (integration_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (integration_id, delivery_id, created_at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
