-- The PostgreSQL twin of sqlite/migrations/0020_agreement_requests.sql:
-- agreement requests, each a buyer's quote until accepted once.
CREATE TABLE agreement_requests (
    id               TEXT PRIMARY KEY,
    buyer_account_id TEXT NOT NULL,
    client_token     TEXT,
    doc              TEXT NOT NULL,
    accepted         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (buyer_account_id, client_token)
);
