package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/sqlite"
)

// rollCrashEnv names the database a child of TestRollCrash writes.
const rollCrashEnv = "METERD_TEST_ROLL_CRASH_DB"

// TestRollCrash kills (SIGKILL) a process that commits records and rolls
// them up without pause, at a random moment, several times: each time the
// reopened ledger's summaries must equal the sums of its records, before
// and after the roller catches up, so a roll is never half-applied nor
// counted twice.
func TestRollCrash(t *testing.T) {
	if path := os.Getenv(rollCrashEnv); path != "" {
		rollCrashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	path := filepath.Join(t.TempDir(), "meterd.db")
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRollCrash$", "-test.count=1")
		cmd.Env = append(os.Environ(), rollCrashEnv+"="+path, fmt.Sprintf("METERD_TEST_ROLL_CRASH_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child prints a line once it has committed and rolled; the
		// kill comes at a random moment after that.
		var b [1]byte
		if _, err := out.Read(b[:]); err != nil {
			t.Fatalf("round %d: child: %v", round, err)
		}
		time.Sleep(time.Duration(20+rng.IntN(100)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL = %v", round, err)
		}
		s.StopRoller()
		lag := s.Stats().RollupLag
		ledgertest.CheckSummaries(t, s)
		for {
			n, err := s.RollUp(t.Context(), 5000)
			if err != nil {
				t.Fatalf("round %d: RollUp = %v", round, err)
			}
			if n == 0 {
				break
			}
		}
		ledgertest.CheckSummaries(t, s)
		var records int
		must(t, s.Usage(t.Context(), meterd.UsageFilter{}, func(*meterd.MeteringRecord) error { records++; return nil }))
		t.Logf("round %d: %d records, %d behind the watermark after the kill", round, records, lag)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// rollCrashChild commits batches of distinct records and rolls up a few
// at a time, in turn, until it is killed.
func rollCrashChild(t *testing.T, path string) {
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.StopRoller()
	day0 := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	round := os.Getenv("METERD_TEST_ROLL_CRASH_ROUND")
	for n := 0; ; n++ {
		recs := make([]*meterd.MeteringRecord, 25)
		for i := range recs {
			k := n*len(recs) + i
			r := record(k, []string{"cust-1", "cust-2"}[k%2], int64(k%7+1))
			r.ID = fmt.Sprintf("00000000-0000-4000-8%03s-%012d", round, k)
			r.Resource = fmt.Sprintf("res-%s-%d", round, k)
			r.Dimension = []string{"requests", "storage_gb"}[k/2%2]
			if k%5 == 0 {
				r.ProductCode = "other-product"
			}
			r.Hour = day0.Add(time.Duration(k*7%(52*24)) * time.Hour)
			recs[i] = r
		}
		if _, err := s.Commit(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RollUp(t.Context(), 1+n%40); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			os.Stdout.WriteString("ready\n")
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
