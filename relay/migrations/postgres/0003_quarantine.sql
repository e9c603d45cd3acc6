-- An aggregate that cannot be sent (a quantity outside 0..2147483647,
-- which an older relay let through) is quarantined: skipped by freezing,
-- claiming and intake, and shown by the status.
ALTER TABLE aggregates ADD COLUMN quarantined text NOT NULL DEFAULT ''; -- the reason, '' when not
