-- Agreement requests (the Agreement Service's CreateAgreementRequest): a
-- buyer's quote, kept until AcceptAgreementRequest turns it into the
-- agreement. client_token is NULL without one (NULLs never collide);
-- accepted is set by the market change that accepts it, once.
CREATE TABLE agreement_requests (
    id               TEXT PRIMARY KEY,
    buyer_account_id TEXT NOT NULL,
    client_token     TEXT,
    doc              TEXT NOT NULL,
    accepted         INTEGER NOT NULL DEFAULT 0,
    created_at_ms    INTEGER NOT NULL,
    UNIQUE (buyer_account_id, client_token)
);
