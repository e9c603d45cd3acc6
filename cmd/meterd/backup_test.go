package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/sqlite"
)

// TestBackupUnderLoad takes `meterd backup` of a running server while
// clients keep sending BatchMeterUsage through it, stops the server,
// `meterd restore`s the copy into its data directory, and finds in the
// restored ledger every record acknowledged before the backup began, each
// with its MeteringRecordId, and nothing the server never acknowledged.
// Restore refuses while the server runs and refuses files that are not a
// meterd database.
func TestBackupUnderLoad(t *testing.T) {
	bin := meterdtest.Build(t)
	srv := meterdtest.Serve(t, bin, "--past-window", "720h")
	h := &cliHarness{bin: bin, srv: srv}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// Every key of 700 past hours, 25 to a request, handed out in order.
	base := time.Now().UTC().Truncate(time.Hour)
	var batches [][]types.UsageRecord
	var batch []types.UsageRecord
	for hour := 1; hour <= 700; hour++ {
		for _, c := range []string{"demo-customer-1", "demo-customer-2"} {
			for _, d := range []string{"requests", "storage_gb"} {
				batch = append(batch, types.UsageRecord{
					CustomerIdentifier: aws.String(c), Dimension: aws.String(d), Quantity: aws.Int32(int32(hour)),
					Timestamp: aws.Time(base.Add(-time.Duration(hour)*time.Hour + time.Minute)),
				})
				if len(batch) == 25 {
					batches = append(batches, batch)
					batch = nil
				}
			}
		}
	}

	var mu sync.Mutex
	acked := map[string]string{} // MeteringRecordId -> customer/dimension/hour
	var next atomic.Int64
	started := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := h.metering("test", "test")
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1)) - 1
				if i >= len(batches) {
					return
				}
				out, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String("demo-product"), UsageRecords: batches[i]})
				if err != nil {
					t.Errorf("BatchMeterUsage = %v", err)
					return
				}
				mu.Lock()
				for _, r := range out.Results {
					if r.Status == types.UsageRecordResultStatusSuccess {
						acked[aws.ToString(r.MeteringRecordId)] = aws.ToString(r.UsageRecord.CustomerIdentifier) + "/" + aws.ToString(r.UsageRecord.Dimension)
					}
				}
				if len(acked) >= 250 && started != nil {
					close(started)
					started = nil
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the load did not start")
	}
	mu.Lock()
	before := make(map[string]string, len(acked))
	for id, k := range acked {
		before[id] = k
	}
	mu.Unlock()

	file := filepath.Join(t.TempDir(), "backup.db")
	out := h.ok(t, "backup", "--to", file)
	sentDuring := next.Load()
	close(stop)
	wg.Wait()
	t.Logf("%d records acknowledged before the backup began; %d of %d requests sent by the time it ended", len(before), sentDuring, len(batches))
	if !strings.Contains(out, "written to "+file) {
		t.Errorf("meterd backup = %q, want it to name %s", out, file)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file = %v, %v; want mode 0600", info, err)
	}
	if _, err := os.Stat(file + ".partial"); err == nil {
		t.Errorf("meterd backup left %s.partial", file)
	}

	h.wantExit(t, 1, "running meterd", "restore", "--from", file, "--data", srv.Data)
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("these are not the records you are looking for"), 0o600)
	h.wantExit(t, 1, "not a SQLite database", "restore", "--from", notes, "--data", t.TempDir())
	h.wantExit(t, 2, "--from", "restore")

	srv.Stop()
	if out := h.ok(t, "restore", "--from", file, "--data", srv.Data); !strings.Contains(out, "restored") {
		t.Errorf("meterd restore = %q, want it to say what it restored", out)
	}
	if _, err := os.Stat(filepath.Join(srv.Data, "meterd.db"+sqlite.PreRestoreSuffix)); err != nil {
		t.Errorf("the replaced database was not kept: %v", err)
	}
	s, err := sqlite.Open(ctx, filepath.Join(srv.Data, "meterd.db"))
	if err != nil {
		t.Fatalf("open the restored store: %v", err)
	}
	restored := map[string]string{}
	err = s.Usage(ctx, meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
		restored[r.ID] = r.CustomerIdentifier + "/" + r.Dimension
		return nil
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	for id, k := range before {
		if restored[id] != k {
			t.Errorf("record %s (%s), acknowledged before the backup began, restored as %q", id, k, restored[id])
		}
	}
	for id := range restored {
		if _, ok := acked[id]; !ok {
			t.Errorf("restored record %s was never acknowledged", id)
		}
	}
	srv.Restart()
	if r := h.run(t, "usage", "summary", "--by", "dimension", "--from", base.Add(-720*time.Hour).Format(time.RFC3339)); r.code != 0 {
		t.Errorf("usage summary from the restored server = exit %d, stderr %s", r.code, r.stderr)
	}
}
