-- The PostgreSQL twin of sqlite/migrations/0040_customers_license.sql.
-- LicenseProducts finds the product of a LicenseArn by this index rather
-- than by reading every product's customers.
CREATE INDEX customers_license ON customers (license_arn);
