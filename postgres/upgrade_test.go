package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/postgres"
)

// TestUpgrade restores a database written by meterd 5865ca6 (pg_dump
// --inserts, the records of sqlite's testdata ledger) and runs the
// contract's upgrade test on it.
func TestUpgrade(t *testing.T) {
	url := cluster.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), string(ledgertest.Gunzip(t, "testdata/ledger-5865ca6.sql.gz"))); err != nil {
		t.Fatalf("restore the 5865ca6 dump: %v", err)
	}
	conn.Close(t.Context())
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open of a 5865ca6 database = %v, want nil", err)
	}
	defer s.Close()
	ledgertest.RunUpgrade(t, s)
}
