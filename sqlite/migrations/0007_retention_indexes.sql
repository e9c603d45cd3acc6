-- The retention purges find what is old by these: ClientTokens by the time
-- they were stored, registration tokens by their expiry. Ledger records
-- need no index of their own: they are found per product through the
-- (product_code, hour, ...) unique key.
CREATE INDEX client_tokens_created ON client_tokens (created_at_ms);
CREATE INDEX registration_tokens_expires ON registration_tokens (expires_at_ms);
