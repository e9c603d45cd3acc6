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
ALTER TABLE usage_dimension_hourly ADD COLUMN first_seq INTEGER;
ALTER TABLE usage_dimension_hourly ADD COLUMN last_seq INTEGER;

-- Backfill from the records, one range of the duplicate key per row. On a
-- ledger with 0070's watermark, records after it are not in the rollups
-- yet: they can only raise last_seq, which stays a bound (a reader stops at
-- the watermark), and the roller adds them later with min and max.
UPDATE usage_dimension_hourly AS d SET (first_seq, last_seq) = (
	SELECT MIN(r.seq), MAX(r.seq) FROM metering_records r
	WHERE r.product_code = d.product_code AND r.hour >= d.hour AND r.hour < d.hour + 3600 AND r.dimension = d.dimension
);
