package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/sqlite"
)

// TestUpgrade opens a ledger file written by meterd 5865ca6 and runs the
// contract's upgrade test on it.
func TestUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meterd.db")
	if err := os.WriteFile(path, ledgertest.Gunzip(t, "testdata/ledger-5865ca6.db.gz"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open of a 5865ca6 ledger = %v, want nil", err)
	}
	defer s.Close()
	ledgertest.RunUpgrade(t, s)
}

// TestNewerSchema checks that Open refuses a ledger on which a newer meterd
// applied a migration this build lacks.
func TestNewerSchema(t *testing.T) {
	ledgertest.RunNewerSchema(t, "migrations", func(t *testing.T, applied int64) error {
		path := filepath.Join(t.TempDir(), "meterd.db")
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if applied != 0 {
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Exec(`INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, 'newer.sql', 0)`, applied)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		s, err = sqlite.Open(t.Context(), path)
		if err == nil {
			s.Close()
		}
		return err
	})
}
