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

// TestNewerSchema checks that Open refuses a database on which a newer
// meterd applied a migration this build lacks.
func TestNewerSchema(t *testing.T) {
	ledgertest.RunNewerSchema(t, "migrations", func(t *testing.T, applied int64) error {
		url := cluster.NewDatabase(t)
		s := open(t, url)
		s.StopRoller()
		if applied != 0 {
			err := s.Transact(t.Context(), func(tx pgx.Tx) error {
				_, err := tx.Exec(t.Context(), "INSERT INTO schema_migrations (version) VALUES ($1)", applied)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s, err := postgres.Open(t.Context(), url)
		if err == nil {
			s.Close()
		}
		return err
	})
}
