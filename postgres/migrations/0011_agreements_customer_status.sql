-- The PostgreSQL twin of sqlite/migrations/0011_agreements_customer_status.sql.
-- A transition reads its customer's ACTIVE agreements only; a lineage
-- renewed yearly keeps one ended agreement per year, which this index
-- skips without reading them.
CREATE INDEX agreements_customer_status ON agreements (product_code, customer_identifier, status);
