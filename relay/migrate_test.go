package relay

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestMigrateConcurrent starts several relays at once on one new
// PostgreSQL database: every one opens the store, and the migrations run
// once.
func TestMigrateConcurrent(t *testing.T) {
	ctx := context.Background()
	dsn := cluster.NewDatabase(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d = %v, want nil", i, err)
		}
	}
	s := openDSN(t, dsn)
	var versions int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM relay_schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 3 {
		t.Errorf("relay_schema_migrations has %d rows, want 3", versions)
	}
}

// TestMigrateExistingSQLite opens a SQLite store made before migrations
// were numbered (the tables of 0001 without relay_schema_migrations): its
// events are kept and it gains the later migrations.
func TestMigrateExistingSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := migrations.ReadFile("migrations/sqlite/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO events VALUES ('old', 'demo-product', 'c1', 0, 0, 1, '', 0, 0, ?)`, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openDSN(t, path)
	now := t0.Add(10 * time.Minute)
	rs, err := s.Ingest(ctx, []Event{ev("old", "c1", "requests", 1, now, nil), ev("new", "c1", "requests", 1, now, nil)}, now, LateCurrentHour)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rs); !equal(got, []string{StatusDuplicate, StatusAccepted}) {
		t.Errorf("Ingest after the upgrade = %v, want [duplicate accepted]", got)
	}
	if _, err := s.Claim(ctx, time.Now(), 10, time.Minute); err != nil {
		t.Errorf("Claim after the upgrade = %v, want nil (claimed_until added)", err)
	}
}
