-- The rollups (usage_hourly, usage_dimension_hourly, usage_customer_daily,
-- usage_customer_monthly) hold the sums of the records up to seq, the
-- roller's watermark, and no others: Commit writes only the records, and a
-- roller (roll.go) folds the records after the watermark into the rollups
-- in the transaction that moves it. Summaries read the rollups and add the
-- records after it. The row is also the roller's lease: a roll holds it
-- locked (FOR UPDATE SKIP LOCKED), so one process at a time rolls, and a
-- process that dies mid-roll releases it with its connection.
CREATE TABLE rollup_watermark (
	id  integer PRIMARY KEY CHECK (id = 1),
	seq bigint NOT NULL
);

-- Until now Commit kept the rollups in its own transaction, after the
-- ledger_sequence lock: taking that lock here waits for the commits in
-- flight, so the rollups hold every record below next.
SELECT next FROM ledger_sequence WHERE id = 1 FOR UPDATE;
INSERT INTO rollup_watermark (id, seq) SELECT 1, next - 1 FROM ledger_sequence WHERE id = 1;
