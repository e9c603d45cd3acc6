-- The PostgreSQL twin of sqlite/migrations/0042_notify.sql: notification
-- targets and the deliveries of the outbox's events to them.
ALTER TABLE market_events ADD COLUMN dispatched boolean NOT NULL DEFAULT false;
CREATE INDEX market_events_undispatched ON market_events (seq) WHERE NOT dispatched;

CREATE TABLE notify_subscriptions (
    id                   text COLLATE "C" PRIMARY KEY,
    product_code         text COLLATE "C" NOT NULL,
    account_id           text NOT NULL,
    topic                text NOT NULL,
    protocol             text NOT NULL,
    endpoint             text NOT NULL,
    raw                  boolean NOT NULL,
    signature_version    integer NOT NULL,
    insecure_skip_verify boolean NOT NULL,
    confirmed            boolean NOT NULL,
    token                text NOT NULL,
    after_seq            bigint NOT NULL,
    created_at           timestamptz NOT NULL
);

CREATE TABLE notify_rules (
    id                   text COLLATE "C" PRIMARY KEY,
    account_id           text NOT NULL,
    pattern              text NOT NULL,
    protocol             text NOT NULL,
    endpoint             text NOT NULL,
    header_name          text NOT NULL,
    header_value         text NOT NULL,
    insecure_skip_verify boolean NOT NULL,
    after_seq            bigint NOT NULL,
    created_at           timestamptz NOT NULL
);

CREATE TABLE notify_deliveries (
    id                  bigserial PRIMARY KEY,
    event_seq           bigint NOT NULL,
    target              text COLLATE "C" NOT NULL,
    customer_identifier text COLLATE "C" NOT NULL,
    status              text NOT NULL,
    attempts            integer NOT NULL DEFAULT 0,
    last_error          text NOT NULL DEFAULT '',
    next_attempt_at     timestamptz NOT NULL,
    lease_owner         text NOT NULL DEFAULT '',
    lease_until         timestamptz NOT NULL DEFAULT 'epoch',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    UNIQUE (event_seq, target)
);
CREATE INDEX notify_deliveries_pending ON notify_deliveries (event_seq) WHERE status = 'pending';
CREATE INDEX notify_deliveries_group ON notify_deliveries (target, customer_identifier, event_seq) WHERE status = 'pending';
CREATE INDEX notify_deliveries_status ON notify_deliveries (status, id);
