-- Each row of usage_dimension_hourly bounds the seqs of the records it
-- sums: first_seq and last_seq, the lowest and highest the roller folded
-- into it (roll.go). A page of records without a customer filter walks the
-- ledger in seq order from the lowest first_seq of its window's rows to
-- the highest last_seq, then the records after the watermark (usage.go):
-- a ledger is committed oldest first, so that walk starts at the window
-- rather than at the ledger's first record. A purge leaves both as bounds
-- still. NULL is unknown: the walk then starts at the ledger's start (or
-- ends at the watermark). The roller writes them in the rows it writes
-- anyway, so no commit pays for them.
ALTER TABLE usage_dimension_hourly ADD COLUMN first_seq bigint, ADD COLUMN last_seq bigint;

-- Backfill from the records, in one pass over the ledger. On a ledger with
-- 0070's watermark, records after it are not in the rollups yet: they can
-- only raise last_seq, which stays a bound (a reader stops at the
-- watermark), and the roller adds them later with least and greatest. No
-- process of this version rolls up meanwhile: each applies the migrations
-- before it starts its roller.
UPDATE usage_dimension_hourly d SET first_seq = s.first_seq, last_seq = s.last_seq
FROM (
	SELECT product_code, dimension, date_trunc('hour', hour) AS hour, min(seq) AS first_seq, max(seq) AS last_seq
	FROM metering_records GROUP BY 1, 2, 3
) s
WHERE d.product_code = s.product_code AND d.dimension = s.dimension AND d.hour = s.hour;
