-- usage_customer_daily is a rollup behind usage summaries by customer:
-- one row per product, UTC day, customer and dimension, so a day by
-- customer reads one row per customer and dimension rather than one per
-- hour (usage_hourly). The key starts with the day, so the days of a window
-- are one range of it. Commit keeps it in the same transaction as the
-- records. day is the record's hour truncated to 00:00 UTC, in unix
-- seconds. summary.go combines it with usage_customer_monthly and
-- usage_hourly.
CREATE TABLE usage_customer_daily (
	product_code        TEXT NOT NULL,
	customer_identifier TEXT NOT NULL,
	dimension           TEXT NOT NULL,
	day                 INTEGER NOT NULL,
	quantity            INTEGER NOT NULL,
	records             INTEGER NOT NULL,
	PRIMARY KEY (product_code, day, customer_identifier, dimension)
) WITHOUT ROWID;

-- Backfill from usage_hourly, which already sums the records per hour.
INSERT INTO usage_customer_daily (product_code, customer_identifier, dimension, day, quantity, records)
SELECT product_code, customer_identifier, dimension, hour - hour % 86400, SUM(quantity), SUM(records)
FROM usage_hourly
GROUP BY product_code, customer_identifier, dimension, hour - hour % 86400;
