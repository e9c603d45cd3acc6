-- A customer's records that the duplicate key (product, hour, dimension,
-- resource) cannot find by the customer: MeterUsage records, whose resource
-- is the caller's access key or the ClientToken, where a BatchMeterUsage
-- record's is the customer. The usage of a customer with such records read
-- every record of each of its hours (of every customer: 10,000 an hour on
-- a ledger of 10,000 customers); this index gives its own. It is partial,
-- so BatchMeterUsage records, the bulk of the ledger and of its ingest,
-- pay nothing for it (an index of every record by customer cost the batch
-- write path a third of its throughput, migration 0061).
CREATE INDEX metering_records_not_by_customer ON metering_records (product_code, customer_identifier, dimension, hour)
WHERE resource <> customer_identifier;
