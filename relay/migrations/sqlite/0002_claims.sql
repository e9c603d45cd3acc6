-- Submission claims, the shared request rate, and pruning by age.
ALTER TABLE aggregates ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0; -- unix ms, wall time
CREATE TABLE upstream_slots (
	upstream  TEXT PRIMARY KEY,  -- account and region (endpoint and region)
	next_free INTEGER NOT NULL   -- unix microseconds, wall time: the next free send time
);
CREATE INDEX events_received ON events (received_at);
