package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/pgtest"
)

// Outage test sizes: a few senders of small distinct batches.
const (
	outageSenders = 4
	outageBatch   = 5
	// outageMaxRecords bounds the load however fast the machine is.
	outageMaxRecords = 100_000
	// outagePastWindow is the server's --past-window: room for
	// outageMaxRecords distinct keys at 4 per hour.
	outagePastWindow = (outageMaxRecords/4 + 100) * time.Hour
)

// sent is one BatchMeterUsage request of the outage load and its outcome.
type sent struct {
	records []types.UsageRecord
	ids     []string // per record, when the request succeeded
	err     error
}

// outageLoad sends distinct records from several goroutines until stopped.
type outageLoad struct {
	client *mm.Client
	base   time.Time
	next   atomic.Int64 // next record number
	stop   atomic.Bool
	ok     atomic.Int64 // successful requests

	mu   sync.Mutex
	sent []*sent
	wg   sync.WaitGroup
}

// record returns record number n: keys never repeat, quantities vary.
func (l *outageLoad) record(n int64) types.UsageRecord {
	customer := []string{"demo-customer-1", "demo-customer-2"}[n%2]
	dimension := []string{"requests", "storage_gb"}[(n/2)%2]
	hour := l.base.Add(-time.Duration(1+n/4) * time.Hour)
	return usageRecord(customer, dimension, hour.Add(time.Duration(n%60)*time.Second), int32(1+n%97))
}

func (l *outageLoad) start() {
	for range outageSenders {
		l.wg.Go(func() {
			for !l.stop.Load() {
				first := l.next.Add(outageBatch) - outageBatch
				if first+outageBatch > outageMaxRecords {
					return
				}
				s := &sent{}
				for n := first; n < first+outageBatch; n++ {
					s.records = append(s.records, l.record(n))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				out, err := l.client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
					ProductCode: aws.String(product), UsageRecords: s.records})
				cancel()
				s.err = err
				if err == nil {
					s.err = checkAllSuccess(out, len(s.records))
					if s.err == nil {
						for _, r := range out.Results {
							s.ids = append(s.ids, aws.ToString(r.MeteringRecordId))
						}
						l.ok.Add(1)
					}
				}
				l.mu.Lock()
				l.sent = append(l.sent, s)
				l.mu.Unlock()
			}
		})
	}
}

// failed counts the requests that failed after all their attempts.
func (l *outageLoad) failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.sent {
		if s.err != nil {
			n++
		}
	}
	return n
}

// checkAllSuccess returns an error unless out holds n Success results.
func checkAllSuccess(out *mm.BatchMeterUsageOutput, n int) error {
	if len(out.Results) != n || len(out.UnprocessedRecords) != 0 {
		return fmt.Errorf("%d results, %d unprocessed; want %d results", len(out.Results), len(out.UnprocessedRecords), n)
	}
	for i, r := range out.Results {
		if r.Status != types.UsageRecordResultStatusSuccess || aws.ToString(r.MeteringRecordId) == "" {
			return fmt.Errorf("result %d: %s %q, want Success with an id", i, r.Status, aws.ToString(r.MeteringRecordId))
		}
	}
	return nil
}

// TestDatabaseOutage stops the database in the middle of a BatchMeterUsage
// load and starts it again. While it is down, requests fail with
// InternalServiceErrorException and /readyz answers 503; meterd recovers by
// itself when it returns; and the ledger holds every Success the clients
// received, exactly once, and nothing half of a failed request.
func TestDatabaseOutage(t *testing.T) {
	bin := meterdtest.Build(t)
	db := pgtest.Start(t)
	srv := meterdtest.Serve(t, bin, "--store", db.NewDatabase(t), "--admin-token", adminToken,
		"--past-window", outagePastWindow.String())
	var status500 atomic.Int64
	load := &outageLoad{
		client: newClient(srv.URL, sellerKey, sellerSecret, clientOptions{attempts: 4, status500: &status500}),
		base:   time.Now().UTC().Truncate(time.Hour),
	}
	probe := newClient(srv.URL, sellerKey, sellerSecret, clientOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	load.start()
	stopped := false
	defer func() {
		load.stop.Store(true)
		load.wg.Wait()
		if stopped {
			db.Start(t)
		}
	}()
	waitFor(t, 20*time.Second, "20 requests before the outage", func() bool { return load.ok.Load() >= 20 })

	db.Stop(t)
	stopped = true
	waitFor(t, 10*time.Second, "/readyz 503 while the database is down", func() bool { return readyz(ctx, srv.URL) == 503 })
	_, err := probe.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String(product),
		UsageRecords: []types.UsageRecord{load.record(1 << 40)}})
	if got := errorCode(err); got != "InternalServiceErrorException" {
		t.Errorf("BatchMeterUsage while the database is down = %v, want InternalServiceErrorException", err)
	}
	// Down long enough for some requests to fail after all their SDK
	// attempts, so that the ledger check sees failed requests too.
	waitFor(t, 10*time.Second, "a load request failing after its retries", func() bool { return load.failed() > 0 })
	if status500.Load() == 0 {
		t.Errorf("no 500 answer to the load while the database was down")
	}

	db.Start(t)
	stopped = false
	waitFor(t, 20*time.Second, "/readyz 200 after the database is back", func() bool { return readyz(ctx, srv.URL) == 200 })
	after := load.ok.Load()
	waitFor(t, 20*time.Second, "20 requests after the outage", func() bool { return load.ok.Load() >= after+20 })
	load.stop.Store(true)
	load.wg.Wait()

	t.Logf("%d requests, %d failed after their retries, %d answers 500", len(load.sent), load.failed(), status500.Load())
	checkLedger(ctx, t, srv, load)
}

// checkLedger compares the ledger with what the clients were told: every
// Success stored once with its id and quantity; a failed request's records
// all stored or none; nothing else stored. Then it retries every failed
// request, which must succeed with the stored ids when they were stored.
func checkLedger(ctx context.Context, t *testing.T, srv *meterdtest.Server, load *outageLoad) {
	t.Helper()
	stored := storedRecords(ctx, t, srv, load.base)
	seen := 0
	for _, s := range load.sent {
		found := 0
		for i, r := range s.records {
			got, ok := stored[recordKey(r)]
			if !ok {
				if s.err == nil {
					t.Errorf("Success %s (%s) not stored", s.ids[i], recordKey(r))
				}
				continue
			}
			found++
			if got.Quantity != int64(aws.ToInt32(r.Quantity)) {
				t.Errorf("stored %s quantity %d, want %d", recordKey(r), got.Quantity, aws.ToInt32(r.Quantity))
			}
			if s.err == nil && got.ID != s.ids[i] {
				t.Errorf("stored %s id %s, want the id the client got, %s", recordKey(r), got.ID, s.ids[i])
			}
		}
		seen += found
		if s.err != nil && found != 0 && found != len(s.records) {
			t.Errorf("failed request (%v): %d of its %d records stored, want all or none", s.err, found, len(s.records))
		}
	}
	if seen != len(stored) {
		t.Errorf("ledger holds %d records, %d of them sent by the load; want only the load's", len(stored), seen)
	}

	// A retry of each failed request succeeds, with the stored ids when
	// its records were stored.
	client := newClient(srv.URL, sellerKey, sellerSecret, clientOptions{})
	for _, s := range load.sent {
		if s.err == nil {
			continue
		}
		out, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String(product), UsageRecords: s.records})
		if err == nil {
			err = checkAllSuccess(out, len(s.records))
		}
		if err != nil {
			t.Errorf("retry of a failed request = %v", err)
			continue
		}
		for i, r := range out.Results {
			if got, ok := stored[recordKey(s.records[i])]; ok && got.ID != aws.ToString(r.MeteringRecordId) {
				t.Errorf("retry of %s = id %s, want the stored %s", recordKey(s.records[i]), aws.ToString(r.MeteringRecordId), got.ID)
			}
		}
	}
}

// storedRecords reads the whole ledger through the admin API, by key,
// failing on a key stored twice.
func storedRecords(ctx context.Context, t *testing.T, srv *meterdtest.Server, base time.Time) map[string]admin.UsageRecord {
	t.Helper()
	c := admin.NewClient(srv.URL, adminToken)
	q := admin.UsageQuery{Product: product, From: base.Add(-outagePastWindow - time.Hour), To: base.Add(time.Hour), Limit: 10000}
	out := map[string]admin.UsageRecord{}
	for range 1000 {
		page, err := c.Usage(ctx, q)
		if err != nil {
			t.Fatalf("Usage() = %v", err)
		}
		for _, r := range page.Records {
			key := fmt.Sprintf("%s/%s/%s", r.CustomerIdentifier, r.Dimension, r.Hour.UTC().Format(time.RFC3339))
			if prev, ok := out[key]; ok {
				t.Fatalf("key %s stored twice: %s and %s", key, prev.ID, r.ID)
			}
			out[key] = r
		}
		if page.NextCursor == "" {
			return out
		}
		q.After = page.NextCursor
	}
	t.Fatal("Usage(): more than 1000 pages")
	return nil
}
