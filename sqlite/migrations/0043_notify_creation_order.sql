-- Subscriptions and rules list in creation order: created_seq counts them
-- as they are made (one more than the table's largest), so two made in one
-- clock instant keep the order they were made in. The existing ones are
-- numbered by the order they listed in before: creation time, then id.
ALTER TABLE notify_subscriptions ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
UPDATE notify_subscriptions SET created_seq = n.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at_ms, id) AS n FROM notify_subscriptions) AS n
    WHERE n.id = notify_subscriptions.id;
CREATE UNIQUE INDEX notify_subscriptions_creation ON notify_subscriptions (created_seq);

ALTER TABLE notify_rules ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
UPDATE notify_rules SET created_seq = n.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at_ms, id) AS n FROM notify_rules) AS n
    WHERE n.id = notify_rules.id;
CREATE UNIQUE INDEX notify_rules_creation ON notify_rules (created_seq);
