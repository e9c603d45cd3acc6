-- The PostgreSQL twin of sqlite/migrations/0041_queues.sql: SQS-compatible
-- queues owned by a seller account, and their durable messages.
CREATE TABLE queues (
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE queue_messages (
    seq                BIGSERIAL PRIMARY KEY,
    account_id         TEXT NOT NULL,
    queue              TEXT NOT NULL,
    message_id         TEXT NOT NULL,
    body               TEXT NOT NULL,
    message_attributes TEXT NOT NULL,
    sent_at            TIMESTAMPTZ NOT NULL,
    visible_at         TIMESTAMPTZ NOT NULL,
    receive_count      INTEGER NOT NULL DEFAULT 0,
    first_received_at  TIMESTAMPTZ,
    UNIQUE (account_id, queue, message_id)
);

CREATE INDEX queue_messages_visible ON queue_messages (account_id, queue, visible_at, seq);
