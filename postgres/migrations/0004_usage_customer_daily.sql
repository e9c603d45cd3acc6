-- The PostgreSQL twin of sqlite/migrations/0003_usage_customer_daily.sql.
-- usage_customer_daily is a rollup behind usage summaries by customer: one
-- row per product, UTC day, customer and dimension, so a day by customer
-- reads one row per customer and dimension rather than one per hour
-- (usage_hourly). The key starts with the product and the day, so the days
-- of a window are one range of it. Commit keeps it in the same transaction
-- as the records, after the ledger_sequence lock like every other write of
-- the commit. day is the record's hour truncated to 00:00 UTC. summary.go
-- combines it with usage_customer_monthly and usage_hourly.
CREATE TABLE usage_customer_daily (
	product_code        text COLLATE "C" NOT NULL,
	day                 timestamptz NOT NULL,
	customer_identifier text COLLATE "C" NOT NULL,
	dimension           text COLLATE "C" NOT NULL,
	quantity            bigint NOT NULL,
	records             bigint NOT NULL,
	PRIMARY KEY (product_code, day, customer_identifier, dimension)
);

-- Backfill from usage_hourly, which already sums the records per hour
-- (Open makes every session UTC, so date_trunc cuts UTC days). No process
-- of this version commits meanwhile: each applies the migrations (one
-- migrator at a time) before it starts committing.
INSERT INTO usage_customer_daily (product_code, day, customer_identifier, dimension, quantity, records)
SELECT product_code, date_trunc('day', hour), customer_identifier, dimension, sum(quantity), sum(records)
FROM usage_hourly
GROUP BY 1, 2, 3, 4;
