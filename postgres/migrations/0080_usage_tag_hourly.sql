-- The tags of the records up to the rollups' watermark, summed per
-- product, hour, tag and dimension: a summary by tag of a window reads
-- these rows (a few per tag and hour), not every tagged record of the
-- window. records counts the records carrying the tag; quantity is what
-- their allocations give it. The roller keeps it with the other rollups
-- (roll.go), in the same transaction as the watermark.
CREATE TABLE usage_tag_hourly (
	product_code text COLLATE "C" NOT NULL,
	hour         timestamptz NOT NULL,
	key          text COLLATE "C" NOT NULL,
	value        text COLLATE "C" NOT NULL,
	dimension    text COLLATE "C" NOT NULL,
	quantity     bigint NOT NULL,
	records      bigint NOT NULL,
	PRIMARY KEY (product_code, hour, key, value, dimension)
);
-- Backfill (Open makes every session UTC, so date_trunc cuts UTC hours).
INSERT INTO usage_tag_hourly (product_code, hour, key, value, dimension, quantity, records)
SELECT m.product_code, date_trunc('hour', m.hour), t.key, t.value, m.dimension, sum(t.quantity), count(*)
FROM usage_tags t JOIN metering_records m ON m.seq = t.seq
WHERE t.seq <= (SELECT seq FROM rollup_watermark WHERE id = 1)
GROUP BY 1, 2, 3, 4, 5;
