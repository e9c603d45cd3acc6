-- The PostgreSQL twin of sqlite/migrations/0004_usage_customer_monthly.sql.
-- usage_customer_monthly is usage_customer_daily by UTC calendar month
-- (month: the 1st, 00:00 UTC). A summary by customer reads the whole months
-- of its window here, the whole days near its ends from
-- usage_customer_daily and the hours nearest its bounds from usage_hourly
-- (summary.go), so a month by customer is about one row per customer and
-- dimension. Commit keeps it in the same transaction as the records.
CREATE TABLE usage_customer_monthly (
	product_code        text COLLATE "C" NOT NULL,
	month               timestamptz NOT NULL,
	customer_identifier text COLLATE "C" NOT NULL,
	dimension           text COLLATE "C" NOT NULL,
	quantity            bigint NOT NULL,
	records             bigint NOT NULL,
	PRIMARY KEY (product_code, month, customer_identifier, dimension)
);

-- Backfill from usage_customer_daily (sessions are UTC: see 0004).
INSERT INTO usage_customer_monthly (product_code, month, customer_identifier, dimension, quantity, records)
SELECT product_code, date_trunc('month', day), customer_identifier, dimension, sum(quantity), sum(records)
FROM usage_customer_daily
GROUP BY 1, 2, 3, 4;
