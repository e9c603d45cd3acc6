-- The console's usage explorer and the admin API list a customer's records
-- in commit order, a page at a time: without this index that read walks
-- the ledger by seq until it has found a page of the customer's records
-- (all of it for a customer with few). SQLite ends every index with the
-- rowid, seq here, so (customer, product) equal to a customer's, or a
-- customer's alone, is a range already in seq order. It costs each commit
-- one more index entry per record (docs/performance.md, console).
CREATE INDEX metering_records_customer ON metering_records (customer_identifier, product_code);
