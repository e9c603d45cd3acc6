package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// TestCheckpointer commits enough records to fill many pages and then
// waits for the database file itself to grow: the writer never
// checkpoints (wal_autocheckpoint(0)), so only the background checkpointer
// can have copied the WAL into it while the store is open.
func TestCheckpointer(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	defer s.Close()
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	recs := make([]*meterd.MeteringRecord, 2000)
	for i := range recs {
		recs[i] = record(i+1, fmt.Sprintf("cust-%d", i), 1)
	}
	if _, err := s.Commit(ctx, recs); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	// Not a sleep for time to pass: a bounded wait for another goroutine,
	// which ticks every 250 ms.
	for deadline := time.Now().Add(20 * time.Second); size() < before+100_000; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("database file = %d bytes 20 s after a commit of 2,000 records, want more than %d: no checkpoint ran", size(), before+100_000)
		}
	}
}

// TestWALStartsOver commits without pause from one goroutine while another
// checkpoints: a passive checkpoint alone never finds the WAL wholly
// copied when a write begins, so the WAL would only grow. Holding off the
// writer once it is long must make it start over, again and again, and
// lose nothing.
func TestWALStartsOver(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var committed atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			recs := make([]*meterd.MeteringRecord, 25)
			for i := range recs {
				k := n*25 + i
				recs[i] = record(k+1, fmt.Sprintf("cust-%d", k), 1)
			}
			if _, err := s.Commit(ctx, recs); err != nil {
				t.Errorf("Commit = %v, want nil", err)
				return
			}
			committed.Add(25)
		}
	})
	const checkpoints, restartFrames = 200, 64
	startedOver, last := 0, 0
	for range checkpoints {
		// Between two checkpoints, let the writer commit a few batches.
		want := committed.Load() + 4*25
		for deadline := time.Now().Add(10 * time.Second); committed.Load() < want; runtime.Gosched() {
			if time.Now().After(deadline) {
				t.Fatal("the committing goroutine made no progress in 10 s")
			}
		}
		frames := sqlite.Checkpoint(s, restartFrames)
		if frames < last {
			startedOver++
		}
		last = frames
	}
	close(stop)
	wg.Wait()
	if got := s.Stats().WALFrames; got <= 0 {
		t.Errorf("Stats().WALFrames = %d after checkpoints of a written WAL, want its length", got)
	}
	// Without the held-off checkpoint the WAL's length never goes down.
	if startedOver < 10 {
		t.Errorf("the WAL started over %d times in %d checkpoints under steady commits, want at least 10 (last length %d frames)", startedOver, checkpoints, last)
	}
	sum, err := s.SummarizeUsage(ctx, meterd.UsageFilter{ProductCode: "demo-product"}, "dimension")
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	for _, r := range sum {
		got += r.Records
	}
	if got != committed.Load() {
		t.Errorf("ledger holds %d records, want the %d committed", got, committed.Load())
	}
}
