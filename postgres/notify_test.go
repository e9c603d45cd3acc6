package postgres_test

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd/ledgertest"
)

func TestNotifyStore(t *testing.T) {
	ledgertest.RunNotify(t, func(t *testing.T) ledgertest.NotifyStore { return open(t, cluster.NewDatabase(t)) })
}

// TestNotifyCreationOrderUpgrade checks migration 0043 on subscriptions
// and rules made before it: they keep the order they listed in, and the
// sequence goes on after them.
func TestNotifyCreationOrderUpgrade(t *testing.T) {
	ctx := t.Context()
	url := cluster.NewDatabase(t)
	s := open(t, url)
	ledgertest.SeedNotifyTargets(t, s)
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		// Dropping the columns drops the sequences they own and the indexes.
		for _, q := range []string{`ALTER TABLE notify_subscriptions DROP COLUMN created_seq`,
			`ALTER TABLE notify_rules DROP COLUMN created_seq`, `DELETE FROM schema_migrations WHERE version = 43`} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ledgertest.CheckNotifyTargetsUpgrade(t, open(t, url))
}
