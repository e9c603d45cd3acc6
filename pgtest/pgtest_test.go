package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd/pgtest"
)

// query returns the single integer a query yields on the database at url.
func query(t *testing.T, url, sql string) (int, error) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(t.Context(), sql).Scan(&n)
	return n, err
}

// exec runs a statement on the database at url.
func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestRestartKeepsData stops and starts a cluster and finds a committed row
// again, on the same URL.
func TestRestartKeepsData(t *testing.T) {
	if os.Getenv(pgtest.EnvURL) != "" {
		t.Log("external server: Stop/Start are refused, see TestExternal")
		return
	}
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	exec(t, url, "CREATE TABLE t AS SELECT 42 AS n")
	c.Stop(t)
	if _, err := query(t, url, "SELECT 1"); err == nil {
		t.Fatalf("query on a stopped cluster = nil error, want a connection error")
	}
	c.Start(t)
	n, err := query(t, url, "SELECT n FROM t")
	if err != nil || n != 42 {
		t.Fatalf("SELECT n after restart = %d, %v; want 42, nil", n, err)
	}
}

// TestNewDatabaseIsolated checks that each database starts empty.
func TestNewDatabaseIsolated(t *testing.T) {
	c := pgtest.Start(t)
	a, b := c.NewDatabase(t), c.NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase twice = %q both times, want distinct databases", a)
	}
	exec(t, a, "CREATE TABLE only_in_a (n int)")
	n, err := query(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")
	if err != nil || n != 0 {
		t.Fatalf("tables named only_in_a in the second database = %d, %v; want 0, nil", n, err)
	}
	// Durability is what the stores' tests exercise.
	n, err = query(t, c.URL(), "SELECT count(*) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit') AND setting = 'on'")
	if err != nil || n != 2 {
		t.Fatalf("settings fsync and synchronous_commit on = %d, %v; want 2, nil", n, err)
	}
}
