-- Notification targets (SNS subscriptions, EventBridge-style rules) and
-- the deliveries of the outbox's events to them. market_events.dispatched
-- marks the events whose deliveries are made; the partial index keeps the
-- dispatcher's look for new events small whatever the outbox holds.
ALTER TABLE market_events ADD COLUMN dispatched INTEGER NOT NULL DEFAULT 0;
CREATE INDEX market_events_undispatched ON market_events (seq) WHERE dispatched = 0;

CREATE TABLE notify_subscriptions (
    id                   TEXT PRIMARY KEY,
    product_code         TEXT NOT NULL,
    account_id           TEXT NOT NULL,
    topic                TEXT NOT NULL,
    protocol             TEXT NOT NULL,
    endpoint             TEXT NOT NULL,
    raw                  INTEGER NOT NULL,
    signature_version    INTEGER NOT NULL,
    insecure_skip_verify INTEGER NOT NULL,
    confirmed            INTEGER NOT NULL,
    token                TEXT NOT NULL,
    after_seq            INTEGER NOT NULL,
    created_at_ms        INTEGER NOT NULL
);

CREATE TABLE notify_rules (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL,
    pattern              TEXT NOT NULL,
    protocol             TEXT NOT NULL,
    endpoint             TEXT NOT NULL,
    header_name          TEXT NOT NULL,
    header_value         TEXT NOT NULL,
    insecure_skip_verify INTEGER NOT NULL,
    after_seq            INTEGER NOT NULL,
    created_at_ms        INTEGER NOT NULL
);

CREATE TABLE notify_deliveries (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq           INTEGER NOT NULL,
    target              TEXT NOT NULL,
    customer_identifier TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT NOT NULL DEFAULT '',
    next_attempt_ms     INTEGER NOT NULL,
    lease_owner         TEXT NOT NULL DEFAULT '',
    lease_until_ms      INTEGER NOT NULL DEFAULT 0,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (event_seq, target)
);
-- The pending deliveries in event order, and per (target, customer) for
-- the ordering check.
CREATE INDEX notify_deliveries_pending ON notify_deliveries (event_seq) WHERE status = 'pending';
CREATE INDEX notify_deliveries_group ON notify_deliveries (target, customer_identifier, event_seq) WHERE status = 'pending';
CREATE INDEX notify_deliveries_status ON notify_deliveries (status, id);
