package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// scrape returns the text exposition of m.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("GET /metrics = %d, want 200", w.Code)
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func assertLines(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, l := range want {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("metrics lack the line %q", l)
		}
	}
}

func TestObserve(t *testing.T) {
	m := New(nil)
	m.Observe(meterd.OpBatchMeterUsage, "", 3*time.Millisecond)
	m.Observe(meterd.OpBatchMeterUsage, "", 30*time.Millisecond)
	m.Observe(meterd.OpMeterUsage, meterd.EDuplicateRequest, time.Millisecond)
	m.Observe("", meterd.EUnknownOperation, time.Millisecond)
	assertLines(t, scrape(t, m),
		`meterd_requests_total{code="",operation="BatchMeterUsage"} 2`,
		`meterd_requests_total{code="DuplicateRequestException",operation="MeterUsage"} 1`,
		`meterd_requests_total{code="UnknownOperationException",operation="unknown"} 1`,
		`meterd_request_duration_seconds_bucket{operation="BatchMeterUsage",le="0.005"} 1`,
		`meterd_request_duration_seconds_count{operation="BatchMeterUsage"} 2`,
	)
}

// batchService answers BatchMeterUsage with fixed results.
type batchService struct {
	meterd.MeteringService
	out *meterd.BatchMeterUsageOutput
}

func (s batchService) BatchMeterUsage(context.Context, *meterd.BatchMeterUsageInput) (*meterd.BatchMeterUsageOutput, error) {
	return s.out, nil
}

func TestServiceCountsRecords(t *testing.T) {
	m := New(nil)
	out := &meterd.BatchMeterUsageOutput{
		Results: []meterd.UsageRecordResult{
			{Status: meterd.StatusSuccess}, {Status: meterd.StatusSuccess}, {Status: meterd.StatusDuplicateRecord},
		},
		UnprocessedRecords: []meterd.UsageRecord{{}},
	}
	got, err := m.Service(batchService{out: out}).BatchMeterUsage(context.Background(), &meterd.BatchMeterUsageInput{})
	if err != nil || got != out {
		t.Fatalf("BatchMeterUsage = %v, %v; want the inner output", got, err)
	}
	assertLines(t, scrape(t, m),
		`meterd_batch_records_total{status="Success"} 2`,
		`meterd_batch_records_total{status="DuplicateRecord"} 1`,
		`meterd_batch_records_total{status="Unprocessed"} 1`,
	)
}

// failingLedger fails every Commit.
type failingLedger struct{ meterd.Ledger }

func (failingLedger) Commit(context.Context, []*meterd.MeteringRecord) ([]meterd.CommitResult, error) {
	return nil, errors.New("disk full")
}

func TestLedgerCountsStoreErrors(t *testing.T) {
	m := New(nil)
	l := m.Ledger(failingLedger{})
	l.Commit(context.Background(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Commit(ctx, nil) // a cancelled caller is not a store error
	assertLines(t, scrape(t, m), `meterd_store_errors_total{method="Commit"} 1`)
}

func TestStoreStats(t *testing.T) {
	m := New(func() StoreStats {
		return StoreStats{Transactions: 4, Batches: 10, Records: 250, WALFrames: 120, RollupLag: 37}
	})
	assertLines(t, scrape(t, m),
		`meterd_store_transactions_total 4`,
		`meterd_store_commit_calls_total 10`,
		`meterd_store_records_total 250`,
		`meterd_sqlite_wal_frames 120`,
		`meterd_store_rollup_lag_records 37`,
	)
	// A store without a WAL (PostgreSQL) has no such gauge, nor one
	// without a roller.
	m = New(func() StoreStats { return StoreStats{Transactions: 4, WALFrames: -1, RollupLag: -1} })
	if text := scrape(t, m); strings.Contains(text, "meterd_sqlite_wal_frames ") || strings.Contains(text, "meterd_store_rollup_lag_records ") {
		t.Errorf("WALFrames -1 or RollupLag -1 is shown as a gauge:\n%s", text)
	}
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := New(nil), New(nil)
	a.Observe(meterd.OpMeterUsage, "", time.Millisecond)
	if text := scrape(t, b); strings.Contains(text, "meterd_requests_total{") {
		t.Errorf("a second Metrics sees the first one's requests:\n%s", text)
	}
}
