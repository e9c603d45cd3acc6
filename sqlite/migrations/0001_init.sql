-- Times are integers: unix milliseconds (*_ms) or unix seconds (hour).

CREATE TABLE accounts (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	created_at_ms INTEGER NOT NULL
);

CREATE TABLE access_keys (
	id            TEXT PRIMARY KEY,
	secret        TEXT NOT NULL,
	session_token TEXT NOT NULL,
	account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at_ms INTEGER NOT NULL
);
CREATE INDEX access_keys_account ON access_keys (account_id, id);

CREATE TABLE products (
	code              TEXT PRIMARY KEY,
	seller_account_id TEXT NOT NULL REFERENCES accounts (id),
	type              TEXT NOT NULL,
	regions           TEXT NOT NULL, -- JSON array; empty means every region
	fulfillment_url   TEXT NOT NULL,
	created_at_ms     INTEGER NOT NULL
);

CREATE TABLE dimensions (
	product_code TEXT NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	position     INTEGER NOT NULL,
	name         TEXT NOT NULL,
	unit         TEXT NOT NULL,
	price        TEXT NOT NULL,
	PRIMARY KEY (product_code, position)
);

CREATE TABLE customers (
	product_code            TEXT NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	customer_identifier     TEXT NOT NULL,
	customer_aws_account_id TEXT NOT NULL,
	license_arn             TEXT NOT NULL,
	status                  TEXT NOT NULL,
	platform                TEXT NOT NULL,
	status_changed_at_ms    INTEGER NOT NULL,
	created_at_ms           INTEGER NOT NULL,
	PRIMARY KEY (product_code, customer_identifier)
);
-- One customer per AWS account and product: PutCustomer's EConflict.
CREATE UNIQUE INDEX customers_account ON customers (product_code, customer_aws_account_id)
	WHERE customer_aws_account_id <> '';

CREATE TABLE registration_tokens (
	token               TEXT PRIMARY KEY,
	product_code        TEXT NOT NULL,
	customer_identifier TEXT NOT NULL,
	expires_at_ms       INTEGER NOT NULL,
	created_at_ms       INTEGER NOT NULL
);

CREATE TABLE public_keys (
	product_code   TEXT NOT NULL,
	version        INTEGER NOT NULL,
	private_key    BLOB NOT NULL,
	public_key_pem TEXT NOT NULL,
	created_at_ms  INTEGER NOT NULL,
	rotated_at_ms  INTEGER, -- NULL until a newer version replaces it
	PRIMARY KEY (product_code, version)
);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- The ledger references no catalog row: usage outlives catalog changes.
-- AUTOINCREMENT keeps seq (the usage cursor) from ever going back, even after
-- Reset deletes every row. id (random, 128-bit) has no index: nothing looks a
-- record up by id, and an index of random keys would make every commit write
-- pages all over a large file. The duplicate key starts with the hour, so new
-- records land together at the end of the index.
CREATE TABLE metering_records (
	seq                     INTEGER PRIMARY KEY AUTOINCREMENT,
	id                      TEXT NOT NULL,
	operation               TEXT NOT NULL,
	product_code            TEXT NOT NULL,
	customer_identifier     TEXT NOT NULL,
	customer_aws_account_id TEXT NOT NULL,
	license_arn             TEXT NOT NULL,
	resource                TEXT NOT NULL,
	dimension               TEXT NOT NULL,
	hour                    INTEGER NOT NULL,
	timestamp_ms            INTEGER NOT NULL,
	quantity                INTEGER NOT NULL CHECK (quantity >= 0),
	allocations             TEXT NOT NULL, -- meterd.CanonicalAllocations
	caller_account_id       TEXT NOT NULL,
	caller_access_key_id    TEXT NOT NULL,
	client_token            TEXT NOT NULL,
	request_hash            TEXT NOT NULL,
	received_at_ms          INTEGER NOT NULL,
	UNIQUE (product_code, hour, dimension, resource)
);

CREATE TABLE client_tokens (
	caller_account_id TEXT NOT NULL,
	client_token      TEXT NOT NULL,
	request_hash      TEXT NOT NULL,
	record_id         TEXT NOT NULL,
	created_at_ms     INTEGER NOT NULL,
	PRIMARY KEY (caller_account_id, client_token)
) WITHOUT ROWID;

-- One row per record and tag key=value: the quantity allocated to it.
CREATE TABLE usage_tags (
	seq      INTEGER NOT NULL,
	key      TEXT NOT NULL,
	value    TEXT NOT NULL,
	quantity INTEGER NOT NULL,
	PRIMARY KEY (seq, key, value)
) WITHOUT ROWID;
CREATE INDEX usage_tags_tag ON usage_tags (key, value, seq);

-- Hourly rollup kept in the commit's transaction, so that summaries by
-- customer, dimension or hour read one row per key-hour rather than every
-- record. hour is the record's Hour truncated to the hour.
CREATE TABLE usage_hourly (
	product_code        TEXT NOT NULL,
	hour                INTEGER NOT NULL,
	customer_identifier TEXT NOT NULL,
	dimension           TEXT NOT NULL,
	quantity            INTEGER NOT NULL,
	records             INTEGER NOT NULL,
	PRIMARY KEY (product_code, hour, customer_identifier, dimension)
) WITHOUT ROWID;
