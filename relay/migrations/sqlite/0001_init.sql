-- The relay's outbox. IF NOT EXISTS: stores created before migrations
-- were numbered already hold these tables.
CREATE TABLE IF NOT EXISTS events (
	id          TEXT PRIMARY KEY,
	product     TEXT NOT NULL,
	customer    TEXT NOT NULL,
	dimension   TEXT NOT NULL,
	hour        INTEGER NOT NULL,  -- unix seconds of the hour the event counts in
	quantity    INTEGER NOT NULL,
	tags        TEXT NOT NULL,     -- canonical JSON object, '' for none
	timestamp   INTEGER NOT NULL,  -- unix milliseconds
	late        INTEGER NOT NULL,  -- 1 when moved to the current hour
	received_at INTEGER NOT NULL   -- unix milliseconds, relay clock
);
CREATE TABLE IF NOT EXISTS aggregates (
	product                 TEXT NOT NULL,
	customer                TEXT NOT NULL,
	dimension               TEXT NOT NULL,
	hour                    INTEGER NOT NULL,
	customer_identifier     TEXT NOT NULL,
	customer_aws_account_id TEXT NOT NULL,
	license_arn             TEXT NOT NULL,
	events                  INTEGER NOT NULL,
	quantity                INTEGER NOT NULL,
	tag_keys                TEXT NOT NULL,  -- JSON array of the distinct tag keys
	tag_sets                INTEGER NOT NULL,
	last_ts                 INTEGER NOT NULL, -- latest event timestamp, unix ms
	state                   TEXT NOT NULL CHECK (state IN ('open', 'frozen', 'submitted')),
	timestamp               INTEGER NOT NULL DEFAULT 0, -- the record's Timestamp, fixed at freeze
	allocations             TEXT NOT NULL DEFAULT '',   -- meterd.CanonicalAllocations, fixed at freeze
	outcome                 TEXT NOT NULL DEFAULT '',
	metering_record_id      TEXT NOT NULL DEFAULT '',
	attempts                INTEGER NOT NULL DEFAULT 0,
	last_error              TEXT NOT NULL DEFAULT '',
	error_at                INTEGER NOT NULL DEFAULT 0, -- unix ms, wall time of last_error
	next_attempt            INTEGER NOT NULL DEFAULT 0, -- unix ms, wall time
	submitted_at            INTEGER NOT NULL DEFAULT 0, -- unix ms, relay clock
	PRIMARY KEY (product, customer, dimension, hour)
);
CREATE INDEX IF NOT EXISTS aggregates_state ON aggregates (state, hour);
CREATE TABLE IF NOT EXISTS allocations (
	product   TEXT NOT NULL,
	customer  TEXT NOT NULL,
	dimension TEXT NOT NULL,
	hour      INTEGER NOT NULL,
	tags      TEXT NOT NULL,
	quantity  INTEGER NOT NULL,
	PRIMARY KEY (product, customer, dimension, hour, tags)
);
