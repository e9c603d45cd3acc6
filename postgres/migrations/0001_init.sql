-- The PostgreSQL twin of sqlite/migrations/0001_init.sql. Text columns use
-- the "C" collation so that every listing sorts bytewise, as SQLite does,
-- whatever the database's default collation. Times are timestamptz, written
-- to the millisecond.

CREATE TABLE accounts (
	id         text COLLATE "C" PRIMARY KEY,
	name       text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE access_keys (
	id            text COLLATE "C" PRIMARY KEY,
	secret        text NOT NULL,
	session_token text NOT NULL,
	account_id    text COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at    timestamptz NOT NULL
);
CREATE INDEX access_keys_account ON access_keys (account_id, id);

CREATE TABLE products (
	code              text COLLATE "C" PRIMARY KEY,
	seller_account_id text COLLATE "C" NOT NULL REFERENCES accounts (id),
	type              text NOT NULL,
	regions           text[] NOT NULL, -- empty means every region
	fulfillment_url   text NOT NULL,
	created_at        timestamptz NOT NULL
);

CREATE TABLE dimensions (
	product_code text COLLATE "C" NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	position     integer NOT NULL,
	name         text NOT NULL,
	unit         text NOT NULL,
	price        text NOT NULL,
	PRIMARY KEY (product_code, position)
);

CREATE TABLE customers (
	product_code            text COLLATE "C" NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	customer_identifier     text COLLATE "C" NOT NULL,
	customer_aws_account_id text COLLATE "C" NOT NULL,
	license_arn             text NOT NULL,
	status                  text NOT NULL,
	platform                text NOT NULL,
	status_changed_at       timestamptz NOT NULL,
	created_at              timestamptz NOT NULL,
	PRIMARY KEY (product_code, customer_identifier)
);
-- One customer per AWS account and product: PutCustomer's EConflict.
CREATE UNIQUE INDEX customers_account ON customers (product_code, customer_aws_account_id)
	WHERE customer_aws_account_id <> '';

CREATE TABLE registration_tokens (
	token               text COLLATE "C" PRIMARY KEY,
	product_code        text NOT NULL,
	customer_identifier text NOT NULL,
	expires_at          timestamptz NOT NULL,
	created_at          timestamptz NOT NULL
);

CREATE TABLE public_keys (
	product_code   text COLLATE "C" NOT NULL,
	version        bigint NOT NULL,
	private_key    bytea NOT NULL,
	public_key_pem text NOT NULL,
	created_at     timestamptz NOT NULL,
	rotated_at     timestamptz, -- NULL until a newer version replaces it
	PRIMARY KEY (product_code, version)
);

CREATE TABLE settings (
	name  text COLLATE "C" PRIMARY KEY,
	value text NOT NULL
);

-- The ledger references no catalog row: usage outlives catalog changes.
-- seq comes from an identity sequence, which never goes back, not even
-- after Reset (TRUNCATE keeps sequences unless told otherwise). id (random,
-- 128-bit) has no index: nothing looks a record up by id alone, and an index
-- of random keys would touch pages all over it on every commit. The
-- duplicate key starts with the hour, so new records land together at the
-- end of the index.
CREATE TABLE metering_records (
	seq                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id                      text COLLATE "C" NOT NULL,
	operation               text NOT NULL,
	product_code            text COLLATE "C" NOT NULL,
	customer_identifier     text COLLATE "C" NOT NULL,
	customer_aws_account_id text NOT NULL,
	license_arn             text NOT NULL,
	resource                text COLLATE "C" NOT NULL,
	dimension               text COLLATE "C" NOT NULL,
	hour                    timestamptz NOT NULL,
	timestamp               timestamptz NOT NULL,
	quantity                bigint NOT NULL,
	allocations             text NOT NULL, -- meterd.CanonicalAllocations
	caller_account_id       text NOT NULL,
	caller_access_key_id    text NOT NULL,
	client_token            text NOT NULL,
	request_hash            text NOT NULL,
	received_at             timestamptz NOT NULL,
	UNIQUE (product_code, hour, dimension, resource)
);

CREATE TABLE client_tokens (
	caller_account_id text COLLATE "C" NOT NULL,
	client_token      text COLLATE "C" NOT NULL,
	request_hash      text NOT NULL,
	record_id         text NOT NULL,
	created_at        timestamptz NOT NULL,
	PRIMARY KEY (caller_account_id, client_token)
);

-- One row per record and tag key=value: the quantity allocated to it.
CREATE TABLE usage_tags (
	seq      bigint NOT NULL,
	key      text COLLATE "C" NOT NULL,
	value    text COLLATE "C" NOT NULL,
	quantity bigint NOT NULL,
	PRIMARY KEY (seq, key, value)
);
CREATE INDEX usage_tags_tag ON usage_tags (key, value, seq);

-- Hourly rollup kept in the commit's transaction, so that summaries by
-- customer, dimension or hour read one row per key-hour rather than every
-- record. hour is the record's Hour truncated to the hour.
CREATE TABLE usage_hourly (
	product_code        text COLLATE "C" NOT NULL,
	hour                timestamptz NOT NULL,
	customer_identifier text COLLATE "C" NOT NULL,
	dimension           text COLLATE "C" NOT NULL,
	quantity            bigint NOT NULL,
	records             bigint NOT NULL,
	PRIMARY KEY (product_code, hour, customer_identifier, dimension)
);
