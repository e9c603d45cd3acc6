package sqlite_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	first := record(1, "cust-1", 5)
	if res, err := s.Commit(ctx, []*meterd.MeteringRecord{first}); err != nil || res[0].ID != first.ID {
		t.Fatalf("Commit = %v, %v; want Committed %s", res, err, first.ID)
	}
	if err := s.PutSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}

	s, err = sqlite.Open(ctx, path) // migrations must not be applied twice
	if err != nil {
		t.Fatalf("Open again = %v, want nil", err)
	}
	defer s.Close()
	retry := record(2, "cust-1", 5)
	if res, err := s.Commit(ctx, []*meterd.MeteringRecord{retry, record(3, "cust-2", 1)}); err != nil || res[0].ID != first.ID {
		t.Fatalf("Commit(retry) after reopen = %v, %v; want Committed %s", res, err, first.ID)
	}
	var got []*meterd.MeteringRecord
	if err := s.Usage(ctx, meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != first.ID || got[1].ID != record(3, "", 0).ID {
		t.Fatalf("Usage after reopen = %d records, want %s then %s", len(got), first.ID, record(3, "", 0).ID)
	}
	if got[1].Seq <= got[0].Seq {
		t.Errorf("Seq after reopen = %d, want > %d", got[1].Seq, got[0].Seq)
	}
	if v, err := s.Setting(ctx, "k"); err != nil || v != "v" {
		t.Errorf("Setting(k) after reopen = %q, %v; want %q", v, err, "v")
	}
}

// record returns a BatchMeterUsage record of customer in a fixed hour.
func record(n int, customer string, q int64) *meterd.MeteringRecord {
	hour := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	return &meterd.MeteringRecord{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Operation: meterd.OpBatchMeterUsage,
		ProductCode: "demo-product", CustomerIdentifier: customer, Resource: customer, Dimension: "requests",
		Hour: hour, Timestamp: hour.Add(time.Minute), Quantity: q, CallerAccountID: "111122223333",
		CallerAccessKeyID: "test", ReceivedAt: hour.Add(time.Minute),
	}
}

// BenchmarkCommit25 commits 25 distinct records per call from many
// goroutines, as BatchMeterUsage requests would.
func BenchmarkCommit25(b *testing.B) {
	s := open(b)
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		recs := make([]*meterd.MeteringRecord, 25)
		for pb.Next() {
			for i := range recs {
				n := int(next.Add(1))
				recs[i] = record(n, fmt.Sprintf("cust-%d", n), 1)
			}
			res, err := s.Commit(b.Context(), recs)
			if err != nil || res[0].Status != meterd.Committed {
				b.Errorf("Commit = %v, %v; want Committed", res, err)
				return
			}
		}
	})
	// The rollups are part of the work: the roller folds what it has not
	// yet before the clock stops.
	for {
		n, err := s.RollUp(b.Context(), 20000)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N*25), "cpu-µs/record")
	b.ReportMetric(float64(b.N*25)/b.Elapsed().Seconds(), "records/s")
	st := s.Stats()
	b.ReportMetric(float64(st.Records)/float64(max(st.Transactions, 1)), "records/tx")
}

// TestOpenOneProcess: a second Open of the same file is refused while the
// first is open (its catalog cache would miss the other's writes), and
// allowed once it is closed.
func TestOpenOneProcess(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := sqlite.Open(ctx, path); err == nil {
		s2.Close()
		t.Fatal("second Open = nil error, want refused while the first is open")
	} else if !strings.Contains(err.Error(), "another process") {
		t.Errorf("second Open = %v, want it to say another process has the file", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after Close = %v, want nil", err)
	}
	s3.Close()
}

// TestLedgerShared runs the two-process contract checks on one store (one
// process at a time may open a SQLite file): concurrent callers of it.
func TestLedgerShared(t *testing.T) {
	ledgertest.RunShared(t, func(t *testing.T) (meterd.Ledger, meterd.Ledger) {
		s := open(t)
		return s, s
	})
}

// BenchmarkEntitlements10k is GetEntitlements' store query for one
// customer of a product with 10,000 contract agreements.
func BenchmarkEntitlements10k(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "meterd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ledgertest.BenchmarkEntitlements(b, s, 10000)
}

func TestRollups(t *testing.T) {
	ledgertest.RunRollups(t, func(t *testing.T) ledgertest.Roller { return open(t) })
}

// TestRollupLag checks the roller's lag in Stats: the records committed
// after the watermark, none once they are rolled up, and the background
// roller catching up by itself.
func TestRollupLag(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	s.StopRoller()
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(1, "cust-1", 1), record(2, "cust-2", 1), record(3, "cust-3", 1)}); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	if st := s.Stats(); st.RollupLag != 3 || st.Rolled != 0 {
		t.Errorf("Stats() with the roller stopped = lag %d, rolled %d; want 3, 0", st.RollupLag, st.Rolled)
	}
	if n, err := s.RollUp(ctx, 2); n != 2 || err != nil {
		t.Fatalf("RollUp(2) = %d, %v; want 2, nil", n, err)
	}
	if st := s.Stats(); st.RollupLag != 1 || st.Rolled != 2 {
		t.Errorf("Stats() after rolling 2 = lag %d, rolled %d; want 1, 2", st.RollupLag, st.Rolled)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	// Reopened, the lag is what the stored watermark leaves, and the
	// background roller folds it.
	s = open1(t, path)
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Rolled != 1 || s.Stats().RollupLag != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("Stats() 10 s after reopening = %+v, want the background roller to fold the 1 record left", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// open1 opens the store at path, closed when the test ends.
func open1(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
