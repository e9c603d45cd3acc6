package ledgertest

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// upgradeSummaries holds the summaries meterd 5865ca6 answered on the
// ledger each store keeps under its testdata (the same 300 records on
// both), by customer, dimension, hour and tag, over six filters and
// windows.
//
//go:embed testdata/upgrade-5865ca6.summaries.json.gz
var upgradeSummaries []byte

// RunUpgrade checks l, a ledger written by meterd 5865ca6 (before the
// rollups' watermark, migration 0070, when Commit kept the rollups
// itself) and opened, so migrated, by this build: 300 records of two
// products, three customers and two dimensions over 52 days around a
// month's end, some with tags. It must answer the summaries 5865ca6
// answered, and still after more records are committed and rolled up.
func RunUpgrade(t *testing.T, l Roller) {
	t.Helper()
	l.StopRoller()
	var want []struct {
		Filter meterd.UsageFilter
		By     string
		Rows   []meterd.UsageSummaryRow
	}
	z, err := gzip.NewReader(bytes.NewReader(upgradeSummaries))
	must(t, "gzip.NewReader", err)
	must(t, "json.Decode", json.NewDecoder(z).Decode(&want))
	if len(want) == 0 {
		t.Fatal("no summaries in testdata/upgrade-5865ca6.summaries.json.gz")
	}
	rollUp(t, l, 1000, 0) // the old rollups hold every record
	for _, q := range want {
		got, err := l.SummarizeUsage(t.Context(), q.Filter, q.By)
		if err != nil {
			t.Fatalf("SummarizeUsage(%+v, %q) = %v", q.Filter, q.By, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(q.Rows) {
			t.Errorf("SummarizeUsage(%+v, %q) after the upgrade = %v, want what 5865ca6 answered: %v", q.Filter, q.By, got, q.Rows)
		}
	}
	CheckSummaries(t, l)
	// New records, then rolled up: the old rollups' rows take them in.
	hour := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	var records []*meterd.MeteringRecord
	for k := range 40 {
		records = append(records, batchRecord(900000+k, product1, fmt.Sprintf("upgrade-cust-%d", k%3), "requests", hour.AddDate(0, 0, -k), 2))
	}
	commit(t, l, records...)
	CheckSummaries(t, l)
	rollUp(t, l, 1000, len(records))
	CheckSummaries(t, l)
}

// Gunzip returns the contents of a gzipped file, such as a store's
// testdata ledger for RunUpgrade.
func Gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	must(t, "open", err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	must(t, "gzip.NewReader", err)
	b, err := io.ReadAll(z)
	must(t, "gunzip "+path, err)
	return b
}
