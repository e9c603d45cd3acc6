package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
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
