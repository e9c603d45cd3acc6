-- The PostgreSQL twin of sqlite/migrations/0043_notify_creation_order.sql:
-- subscriptions and rules list in creation order, by created_seq, taken
-- from a sequence as they are made; the existing ones are numbered by the
-- order they listed in before (creation time, then id).
ALTER TABLE notify_subscriptions ADD COLUMN created_seq bigint;
UPDATE notify_subscriptions SET created_seq = n.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM notify_subscriptions) AS n
    WHERE n.id = notify_subscriptions.id;
CREATE SEQUENCE notify_subscriptions_created_seq OWNED BY notify_subscriptions.created_seq;
SELECT setval('notify_subscriptions_created_seq', coalesce(max(created_seq), 0) + 1, false) FROM notify_subscriptions;
ALTER TABLE notify_subscriptions ALTER COLUMN created_seq SET DEFAULT nextval('notify_subscriptions_created_seq'),
    ALTER COLUMN created_seq SET NOT NULL;
CREATE UNIQUE INDEX notify_subscriptions_creation ON notify_subscriptions (created_seq);

ALTER TABLE notify_rules ADD COLUMN created_seq bigint;
UPDATE notify_rules SET created_seq = n.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM notify_rules) AS n
    WHERE n.id = notify_rules.id;
CREATE SEQUENCE notify_rules_created_seq OWNED BY notify_rules.created_seq;
SELECT setval('notify_rules_created_seq', coalesce(max(created_seq), 0) + 1, false) FROM notify_rules;
ALTER TABLE notify_rules ALTER COLUMN created_seq SET DEFAULT nextval('notify_rules_created_seq'),
    ALTER COLUMN created_seq SET NOT NULL;
CREATE UNIQUE INDEX notify_rules_creation ON notify_rules (created_seq);
