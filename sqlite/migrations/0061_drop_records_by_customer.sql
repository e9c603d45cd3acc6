-- 0060's index of records by customer cost every commit one more index
-- entry per record, on as many leaf pages as a group commit has customers:
-- about a third of the batch ingest's throughput end to end
-- (docs/performance.md). Usage filtered by a customer finds the customer's
-- hours in the rollups and the records through the duplicate key instead
-- (usage.go), which costs the write path nothing.
DROP INDEX IF EXISTS metering_records_customer;
