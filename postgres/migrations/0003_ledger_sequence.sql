-- seq (the usage cursor) must grow in commit order across every process
-- sharing the database. It used to come from the identity sequence under
-- LOCK TABLE metering_records, which CockroachDB lacks. Now each commit
-- transaction first locks the one row of ledger_sequence (SELECT ... FOR
-- UPDATE, held to its commit) and assigns seq from next: commits take the
-- row one after another, so a later commit always has higher seqs.
CREATE TABLE ledger_sequence (
	id   integer PRIMARY KEY CHECK (id = 1),
	next bigint NOT NULL -- the seq of the next record stored
);

-- Start after every seq the identity sequence handed out, including those
-- of records that Reset has since deleted: seq never goes back.
INSERT INTO ledger_sequence (id, next)
SELECT 1, nextval(pg_get_serial_sequence('metering_records', 'seq'));

-- Commits now give seq themselves. Dropping the identity (and its
-- sequence) waits for the commits in flight and locks metering_records
-- until this migration commits; a process of an older version then fails
-- to commit (seq has no default) rather than reuse a seq.
ALTER TABLE metering_records ALTER COLUMN seq DROP IDENTITY;

-- A fresh statement sees every commit that finished before the lock.
UPDATE ledger_sequence
SET next = greatest(next, coalesce((SELECT max(seq) FROM metering_records), 0) + 1)
WHERE id = 1;
