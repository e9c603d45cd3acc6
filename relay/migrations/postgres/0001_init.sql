-- The relay's outbox, shared by every relay that uses this database.
CREATE TABLE events (
	id          text PRIMARY KEY,  -- the idempotency key: unique across all relays
	product     text NOT NULL,
	customer    text NOT NULL,
	dimension   text NOT NULL,
	hour        bigint NOT NULL,   -- unix seconds of the hour the event counts in
	quantity    bigint NOT NULL,
	tags        text NOT NULL,     -- canonical JSON object, '' for none
	timestamp   bigint NOT NULL,   -- unix milliseconds
	late        integer NOT NULL,  -- 1 when moved to the current hour
	received_at bigint NOT NULL    -- unix milliseconds, relay clock
);
CREATE TABLE aggregates (
	product                 text NOT NULL,
	customer                text NOT NULL,
	dimension               text NOT NULL,
	hour                    bigint NOT NULL,
	customer_identifier     text NOT NULL,
	customer_aws_account_id text NOT NULL,
	license_arn             text NOT NULL,
	events                  bigint NOT NULL,
	quantity                bigint NOT NULL,
	tag_keys                text NOT NULL,  -- JSON array of the distinct tag keys
	tag_sets                integer NOT NULL,
	last_ts                 bigint NOT NULL, -- latest event timestamp, unix ms
	state                   text NOT NULL CHECK (state IN ('open', 'frozen', 'submitted')),
	timestamp               bigint NOT NULL DEFAULT 0, -- the record's Timestamp, fixed at freeze
	allocations             text NOT NULL DEFAULT '',  -- meterd.CanonicalAllocations, fixed at freeze
	outcome                 text NOT NULL DEFAULT '',
	metering_record_id      text NOT NULL DEFAULT '',
	attempts                integer NOT NULL DEFAULT 0,
	last_error              text NOT NULL DEFAULT '',
	error_at                bigint NOT NULL DEFAULT 0, -- unix ms, wall time of last_error
	next_attempt            bigint NOT NULL DEFAULT 0, -- unix ms, wall time
	submitted_at            bigint NOT NULL DEFAULT 0, -- unix ms, relay clock
	PRIMARY KEY (product, customer, dimension, hour)
);
CREATE INDEX aggregates_state ON aggregates (state, hour);
CREATE TABLE allocations (
	product   text NOT NULL,
	customer  text NOT NULL,
	dimension text NOT NULL,
	hour      bigint NOT NULL,
	tags      text NOT NULL,
	quantity  bigint NOT NULL,
	PRIMARY KEY (product, customer, dimension, hour, tags)
);
