package sqlite_test

import (
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
