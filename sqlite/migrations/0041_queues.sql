-- SQS-compatible queues owned by a seller account, and their durable
-- messages. seq orders messages by send; visible_at_ms is when a message
-- may next be received (wall time).
CREATE TABLE queues (
    account_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE queue_messages (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           TEXT NOT NULL,
    queue                TEXT NOT NULL,
    message_id           TEXT NOT NULL,
    body                 TEXT NOT NULL,
    message_attributes   TEXT NOT NULL,
    sent_at_ms           INTEGER NOT NULL,
    visible_at_ms        INTEGER NOT NULL,
    receive_count        INTEGER NOT NULL DEFAULT 0,
    first_received_at_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, queue, message_id)
);

CREATE INDEX queue_messages_visible ON queue_messages (account_id, queue, visible_at_ms, seq);
