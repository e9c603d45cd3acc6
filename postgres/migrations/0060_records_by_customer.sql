-- The console's usage explorer and the admin API list a customer's records
-- in commit order, a page at a time: without this index that read walks
-- the ledger by seq until it has found a page of the customer's records
-- (all of it for a customer with few). With the product, the index is a
-- range in seq order; with the customer alone, the customer's records,
-- sorted. It costs each commit one more index entry per record
-- (docs/performance.md, console).
CREATE INDEX metering_records_customer ON metering_records (customer_identifier, product_code, seq);
