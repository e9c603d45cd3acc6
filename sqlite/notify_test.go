package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/sqlite"
)

func TestNotifyStore(t *testing.T) {
	ledgertest.RunNotify(t, func(t *testing.T) ledgertest.NotifyStore { return open(t) })
}

// TestNotifyCreationOrderUpgrade checks migration 0043 on subscriptions
// and rules made before it: they keep the order they listed in.
func TestNotifyCreationOrderUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	ledgertest.SeedNotifyTargets(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP INDEX notify_subscriptions_creation`, `ALTER TABLE notify_subscriptions DROP COLUMN created_seq`,
		`DROP INDEX notify_rules_creation`, `ALTER TABLE notify_rules DROP COLUMN created_seq`,
		`DELETE FROM schema_migrations WHERE version = 43`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a database before migration 0043 = %v, want nil", err)
	}
	defer s.Close()
	ledgertest.CheckNotifyTargetsUpgrade(t, s)
}
