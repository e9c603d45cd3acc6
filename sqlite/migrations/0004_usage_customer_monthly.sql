-- usage_customer_monthly is usage_customer_daily by UTC calendar month
-- (month: unix seconds of the 1st, 00:00 UTC). A summary by customer reads
-- the whole months of its window here, the whole days near its ends from
-- usage_customer_daily and the hours nearest its bounds from usage_hourly
-- (summary.go), so a month by customer is about one row per customer and
-- dimension. Commit keeps it in the same transaction as the records.
CREATE TABLE usage_customer_monthly (
	product_code        TEXT NOT NULL,
	customer_identifier TEXT NOT NULL,
	dimension           TEXT NOT NULL,
	month               INTEGER NOT NULL,
	quantity            INTEGER NOT NULL,
	records             INTEGER NOT NULL,
	PRIMARY KEY (product_code, month, customer_identifier, dimension)
) WITHOUT ROWID;

-- Backfill from usage_customer_daily.
INSERT INTO usage_customer_monthly (product_code, customer_identifier, dimension, month, quantity, records)
SELECT product_code, customer_identifier, dimension, CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER),
	SUM(quantity), SUM(records)
FROM usage_customer_daily
GROUP BY product_code, customer_identifier, dimension, CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER);
