-- usage_dimension_hourly is the coarse rollup behind usage summaries by
-- dimension or by hour: one row per product, dimension and hour whatever
-- the number of customers, so a month of a product is at most
-- dimensions x 720 rows. usage_hourly is keyed like the records themselves
-- (one row per customer) and stays for summaries by customer. Commit keeps
-- both in the same transaction as the records.
CREATE TABLE usage_dimension_hourly (
	product_code text COLLATE "C" NOT NULL,
	dimension    text COLLATE "C" NOT NULL,
	hour         timestamptz NOT NULL,
	quantity     bigint NOT NULL,
	records      bigint NOT NULL,
	PRIMARY KEY (product_code, dimension, hour)
);

-- Backfill from the records already stored (Open makes every session UTC,
-- so date_trunc cuts UTC hours). No process of this version commits
-- meanwhile: each applies the migrations (one migrator at a time) before
-- it starts committing.
INSERT INTO usage_dimension_hourly (product_code, dimension, hour, quantity, records)
SELECT product_code, dimension, date_trunc('hour', hour), sum(quantity), count(*)
FROM metering_records
GROUP BY 1, 2, 3;
