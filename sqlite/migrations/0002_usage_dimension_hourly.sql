-- usage_dimension_hourly is the coarse rollup behind usage summaries by
-- dimension or by hour: one row per product, dimension and hour whatever
-- the number of customers, so a month of a product is at most
-- dimensions x 720 rows. usage_hourly is keyed like the records themselves
-- (one row per customer) and stays for summaries by customer. Commit keeps
-- both in the same transaction as the records.
CREATE TABLE usage_dimension_hourly (
	product_code TEXT NOT NULL,
	dimension    TEXT NOT NULL,
	hour         INTEGER NOT NULL,
	quantity     INTEGER NOT NULL,
	records      INTEGER NOT NULL,
	PRIMARY KEY (product_code, dimension, hour)
) WITHOUT ROWID;

-- Backfill from the records already stored.
INSERT INTO usage_dimension_hourly (product_code, dimension, hour, quantity, records)
SELECT product_code, dimension, hour - hour % 3600, SUM(quantity), COUNT(*)
FROM metering_records
GROUP BY product_code, dimension, hour - hour % 3600;
