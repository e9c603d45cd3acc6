-- The rollups (usage_hourly, usage_dimension_hourly, usage_customer_daily,
-- usage_customer_monthly) hold the sums of the records up to seq, the
-- roller's watermark, and no others: Commit writes only the records, and the
-- roller (roll.go) folds the records after the watermark into the rollups
-- in the same transaction that moves it. Summaries read the rollups and
-- add the records after it. One row.
CREATE TABLE rollup_watermark (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL
);
-- Until now Commit kept the rollups in its own transaction: they hold every
-- record stored.
INSERT INTO rollup_watermark (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM metering_records;
