-- The PostgreSQL twin of sqlite/migrations/0012_registration_token_license.sql.
-- A registration token is bound to one agreement: ResolveCustomer answers
-- that agreement's license (spec/marketplace.md §1 "Customer"); '' for a
-- token minted for the customer, which answers its newest license.
ALTER TABLE registration_tokens ADD COLUMN license_arn TEXT NOT NULL DEFAULT '';
