package postgres_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
)

// cluster is the throwaway server shared by this package's tests; each test
// takes its own database on it.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, &cluster))
}

// open opens a store on the database at url and closes it when t ends.
func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%s) = %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLedger(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) meterd.Ledger {
		return open(t, cluster.NewDatabase(t))
	})
}

func TestRollups(t *testing.T) {
	ledgertest.RunRollups(t, func(t *testing.T) ledgertest.Roller {
		return open(t, cluster.NewDatabase(t))
	})
}

func TestRollupsShared(t *testing.T) {
	ledgertest.RunRollupsShared(t, func(t *testing.T) (ledgertest.Roller, ledgertest.Roller) {
		a, b := openTwo(t)
		return a, b
	})
}

// TestJITOff checks that the store's connections to PostgreSQL itself do
// not JIT-compile (tunePlanner): compiling took most of a summary's time
// at ten million records.
func TestJITOff(t *testing.T) {
	s := open(t, cluster.NewDatabase(t))
	var jit string
	err := s.Transact(t.Context(), func(tx pgx.Tx) error {
		return tx.QueryRow(t.Context(), "SHOW jit").Scan(&jit)
	})
	if err != nil || jit != "off" {
		t.Errorf("SHOW jit = %q, %v; want off", jit, err)
	}
}
