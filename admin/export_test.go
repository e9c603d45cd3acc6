package admin

import (
	"encoding/csv"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

// TestExportStreams exports a million records as CSV and checks that every
// one arrives and that the heap stays flat meanwhile: the server must
// stream, never buffer the export.
func TestExportStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and exports a million records")
	}
	const (
		total     = 1_000_000
		batchSize = 5000
		maxGrowth = 64 << 20
	)
	f := newFixture(t)
	start := time.Now()
	hour := meterd.Hour(t0)
	batch := make([]*meterd.MeteringRecord, 0, batchSize)
	for i := range total {
		// A distinct customer per record keeps every duplicate key apart.
		batch = append(batch, record(fmt.Sprintf("c%07d", i), "requests", hour.Add(-time.Duration(i%24)*time.Hour), 1))
		if len(batch) == batchSize {
			f.commit(t, batch...)
			batch = batch[:0]
		}
	}
	t.Logf("committed %d records in %s", total, time.Since(start).Round(time.Millisecond))

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	peak.Store(base)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	})

	start = time.Now()
	rc, err := f.c.ExportUsage(f.ctx, UsageQuery{Product: catalog.DemoProduct}, "csv")
	must(t, "ExportUsage", err)
	r := csv.NewReader(rc)
	r.ReuseRecord = true
	rows := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		must(t, "read CSV", err)
		rows++
	}
	rc.Close()
	close(done)
	wg.Wait()
	t.Logf("exported %d rows in %s; heap in use grew by at most %d KiB", rows, time.Since(start).Round(time.Millisecond), (peak.Load()-base)>>10)

	if rows != total+1 {
		t.Errorf("CSV export = %d rows, want %d records and a header", rows, total)
	}
	if growth := peak.Load() - base; growth > maxGrowth {
		t.Errorf("heap in use grew by %d MiB during the export, want at most %d MiB", growth>>20, maxGrowth>>20)
	}
}
