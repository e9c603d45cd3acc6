package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/sqlite"
)

// open opens a store on a new file in a temporary directory, closed when
// the test ends.
func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data", "meterd.db"))
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	})
	return s
}

func TestLedger(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) meterd.Ledger { return open(t) })
}
