-- An aggregate that cannot be read or sent (a quantity an older relay let
-- overflow into a REAL, or outside 0..2147483647) is quarantined: skipped
-- by freezing, claiming and intake, and shown by the status.
ALTER TABLE aggregates ADD COLUMN quarantined TEXT NOT NULL DEFAULT ''; -- the reason, '' when not
