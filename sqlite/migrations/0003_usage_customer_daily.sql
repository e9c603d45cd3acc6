-- usage_customer_daily is the rollup behind usage summaries by customer:
-- one row per product, customer, dimension and UTC day, so a month by
-- customer reads about 30 rows per customer and dimension rather than one
-- per record (usage_hourly, keyed like the records, has ~720). The hours of
-- a window's partial first and last days come from usage_hourly. Commit
-- keeps it in the same transaction as the records. day is the record's
-- hour truncated to 00:00 UTC, in unix seconds.
CREATE TABLE usage_customer_daily (
	product_code        TEXT NOT NULL,
	customer_identifier TEXT NOT NULL,
	dimension           TEXT NOT NULL,
	day                 INTEGER NOT NULL,
	quantity            INTEGER NOT NULL,
	records             INTEGER NOT NULL,
	PRIMARY KEY (product_code, customer_identifier, dimension, day)
) WITHOUT ROWID;

-- Backfill from usage_hourly, which already sums the records per hour.
INSERT INTO usage_customer_daily (product_code, customer_identifier, dimension, day, quantity, records)
SELECT product_code, customer_identifier, dimension, hour - hour % 86400, SUM(quantity), SUM(records)
FROM usage_hourly
GROUP BY product_code, customer_identifier, dimension, hour - hour % 86400;
