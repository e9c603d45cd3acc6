-- The PostgreSQL twin of sqlite/migrations/0005_clienttoken_resource_by_account.sql.
-- An AgentCore record sent with a ClientToken had the resource
-- "clienttoken:<token>", shared by every caller account, so one buyer's
-- token could name (or block as a duplicate) another buyer's record. The
-- resource is now "clienttoken:<caller account>:<token>" (metering); this
-- rewrites the records stored before. It goes through a resource that
-- cannot collide (the record's own id) so that no row, rewritten one at a
-- time, meets the UNIQUE key of another on the way.
UPDATE metering_records SET resource = 'migrating-0006:' || id
WHERE client_token <> '' AND resource = 'clienttoken:' || client_token;
UPDATE metering_records SET resource = 'clienttoken:' || caller_account_id || ':' || client_token
WHERE resource = 'migrating-0006:' || id;
