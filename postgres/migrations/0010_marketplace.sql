-- The PostgreSQL twin of sqlite/migrations/0010_marketplace.sql: offers,
-- agreements, licenses, entitlements and the lifecycle outbox
-- (meterd.MarketChange). Terms are stored as JSON: the rules that read them
-- live in marketplace/, not in SQL.

ALTER TABLE products ADD COLUMN entity_id text NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN concurrent_agreements boolean NOT NULL DEFAULT false;
ALTER TABLE dimensions ADD COLUMN contract boolean NOT NULL DEFAULT false;
ALTER TABLE dimensions ADD COLUMN value_type text NOT NULL DEFAULT '';

CREATE TABLE offers (
	id           text COLLATE "C" PRIMARY KEY,
	product_code text COLLATE "C" NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	proposal_id  text COLLATE "C" NOT NULL UNIQUE,
	doc          text NOT NULL, -- meterd.Offer as JSON
	created_at   timestamptz NOT NULL
);
CREATE INDEX offers_product ON offers (product_code, created_at, id);

CREATE TABLE agreements (
	id                  text COLLATE "C" PRIMARY KEY,
	product_code        text COLLATE "C" NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	offer_id            text COLLATE "C" NOT NULL,
	buyer_account_id    text COLLATE "C" NOT NULL,
	seller_account_id   text COLLATE "C" NOT NULL,
	customer_identifier text COLLATE "C" NOT NULL,
	license_arn         text COLLATE "C" NOT NULL,
	status              text NOT NULL,
	request_key         text COLLATE "C", -- NULL: none; unique per product otherwise
	acceptance_time     timestamptz NOT NULL,
	start_time          timestamptz NOT NULL,
	end_time            timestamptz, -- NULL for pay-as-you-go
	version             bigint NOT NULL,
	doc                 text NOT NULL -- meterd.Agreement as JSON
);
CREATE UNIQUE INDEX agreements_request ON agreements (product_code, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX agreements_product ON agreements (product_code, acceptance_time, id);
CREATE INDEX agreements_buyer ON agreements (buyer_account_id, acceptance_time, id);
CREATE INDEX agreements_customer ON agreements (product_code, customer_identifier);
CREATE INDEX agreements_license ON agreements (license_arn);

-- One row per contract dimension of an agreement, kept with the agreement:
-- the entitlement query reads it in (product, customer, dimension, license)
-- order, filtered by the agreement's status and times.
CREATE TABLE agreement_quantities (
	product_code            text COLLATE "C" NOT NULL,
	customer_identifier     text COLLATE "C" NOT NULL,
	dimension               text COLLATE "C" NOT NULL,
	license_arn             text COLLATE "C" NOT NULL,
	agreement_id            text COLLATE "C" NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
	customer_aws_account_id text COLLATE "C" NOT NULL,
	quantity                bigint NOT NULL,
	is_boolean              boolean NOT NULL,
	active                  boolean NOT NULL, -- true while the agreement is ACTIVE
	start_time              timestamptz NOT NULL,
	end_time                timestamptz,
	PRIMARY KEY (product_code, customer_identifier, dimension, license_arn, agreement_id)
);
CREATE INDEX agreement_quantities_account ON agreement_quantities (product_code, customer_aws_account_id);
CREATE INDEX agreement_quantities_license ON agreement_quantities (product_code, license_arn);
CREATE INDEX agreement_quantities_agreement ON agreement_quantities (agreement_id);

CREATE TABLE licenses (
	arn                 text COLLATE "C" PRIMARY KEY,
	product_code        text COLLATE "C" NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	customer_identifier text COLLATE "C" NOT NULL,
	start_time          timestamptz NOT NULL,
	doc                 text NOT NULL -- meterd.License as JSON
);
CREATE INDEX licenses_customer ON licenses (product_code, customer_identifier, start_time, arn);

-- The outbox. seq comes from the one row of market_sequence, which every
-- ApplyMarketChange locks (FOR UPDATE), so that seqs are assigned in commit
-- order by every process (a reader following seq never skips a row that
-- commits late) and never go back, not even after Reset.
CREATE TABLE market_sequence (
	id   integer PRIMARY KEY CHECK (id = 1),
	next bigint NOT NULL
);
INSERT INTO market_sequence (id, next) VALUES (1, 1);

CREATE TABLE market_events (
	seq                 bigint PRIMARY KEY,
	id                  text COLLATE "C" NOT NULL UNIQUE,
	channel             text NOT NULL,
	type                text COLLATE "C" NOT NULL,
	product_code        text COLLATE "C" NOT NULL,
	customer_identifier text COLLATE "C" NOT NULL,
	agreement_id        text COLLATE "C" NOT NULL,
	payload             text NOT NULL,
	created_at          timestamptz NOT NULL
);
CREATE INDEX market_events_product ON market_events (product_code, seq);

-- Time-driven transitions (meterd.Due), read by the clock loop.
CREATE TABLE market_due (
	kind         text COLLATE "C" NOT NULL,
	ref          text COLLATE "C" NOT NULL,
	product_code text COLLATE "C" NOT NULL,
	due_at       timestamptz NOT NULL,
	PRIMARY KEY (kind, ref)
);
CREATE INDEX market_due_time ON market_due (due_at, kind, ref);
