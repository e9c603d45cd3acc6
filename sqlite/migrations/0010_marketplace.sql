-- Offers, agreements, licenses, entitlements and the lifecycle outbox
-- (meterd.MarketChange). Terms are stored as JSON: the rules that read them
-- live in marketplace/, not in SQL.

ALTER TABLE products ADD COLUMN entity_id TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN concurrent_agreements INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dimensions ADD COLUMN contract INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dimensions ADD COLUMN value_type TEXT NOT NULL DEFAULT '';

CREATE TABLE offers (
	id            TEXT PRIMARY KEY,
	product_code  TEXT NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	proposal_id   TEXT NOT NULL UNIQUE,
	doc           TEXT NOT NULL, -- meterd.Offer as JSON
	created_at_ms INTEGER NOT NULL
);
CREATE INDEX offers_product ON offers (product_code, created_at_ms, id);

CREATE TABLE agreements (
	id                  TEXT PRIMARY KEY,
	product_code        TEXT NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	offer_id            TEXT NOT NULL,
	buyer_account_id    TEXT NOT NULL,
	seller_account_id   TEXT NOT NULL,
	customer_identifier TEXT NOT NULL,
	license_arn         TEXT NOT NULL,
	status              TEXT NOT NULL,
	request_key         TEXT, -- NULL: none; unique per product otherwise
	acceptance_ms       INTEGER NOT NULL,
	start_ms            INTEGER NOT NULL,
	end_ms              INTEGER, -- NULL for pay-as-you-go
	version             INTEGER NOT NULL,
	doc                 TEXT NOT NULL -- meterd.Agreement as JSON
);
CREATE UNIQUE INDEX agreements_request ON agreements (product_code, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX agreements_product ON agreements (product_code, acceptance_ms, id);
CREATE INDEX agreements_buyer ON agreements (buyer_account_id, acceptance_ms, id);
CREATE INDEX agreements_customer ON agreements (product_code, customer_identifier);
CREATE INDEX agreements_license ON agreements (license_arn);

-- One row per contract dimension of an agreement, kept with the agreement:
-- the entitlement query reads it in (product, customer, dimension, license)
-- order, filtered by the agreement's status and times.
CREATE TABLE agreement_quantities (
	product_code            TEXT NOT NULL,
	customer_identifier     TEXT NOT NULL,
	dimension               TEXT NOT NULL,
	license_arn             TEXT NOT NULL,
	agreement_id            TEXT NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
	customer_aws_account_id TEXT NOT NULL,
	quantity                INTEGER NOT NULL,
	boolean                 INTEGER NOT NULL, -- 1: value_type boolean
	active                  INTEGER NOT NULL, -- 1 while the agreement is ACTIVE
	start_ms                INTEGER NOT NULL,
	end_ms                  INTEGER,
	PRIMARY KEY (product_code, customer_identifier, dimension, license_arn, agreement_id)
) WITHOUT ROWID;
CREATE INDEX agreement_quantities_account ON agreement_quantities (product_code, customer_aws_account_id);
CREATE INDEX agreement_quantities_license ON agreement_quantities (product_code, license_arn);
CREATE INDEX agreement_quantities_agreement ON agreement_quantities (agreement_id);

CREATE TABLE licenses (
	arn                 TEXT PRIMARY KEY,
	product_code        TEXT NOT NULL REFERENCES products (code) ON DELETE CASCADE,
	customer_identifier TEXT NOT NULL,
	start_ms            INTEGER NOT NULL,
	doc                 TEXT NOT NULL -- meterd.License as JSON
);
CREATE INDEX licenses_customer ON licenses (product_code, customer_identifier, start_ms, arn);

-- The outbox. AUTOINCREMENT: seq never goes back, not even after Reset.
CREATE TABLE market_events (
	seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
	id                  TEXT NOT NULL UNIQUE,
	channel             TEXT NOT NULL,
	type                TEXT NOT NULL,
	product_code        TEXT NOT NULL,
	customer_identifier TEXT NOT NULL,
	agreement_id        TEXT NOT NULL,
	payload             TEXT NOT NULL,
	created_at_ms       INTEGER NOT NULL
);
CREATE INDEX market_events_product ON market_events (product_code, seq);

-- Time-driven transitions (meterd.Due), read by the clock loop.
CREATE TABLE market_due (
	kind         TEXT NOT NULL,
	ref          TEXT NOT NULL,
	product_code TEXT NOT NULL,
	due_ms       INTEGER NOT NULL,
	PRIMARY KEY (kind, ref)
) WITHOUT ROWID;
CREATE INDEX market_due_time ON market_due (due_ms, kind, ref);
