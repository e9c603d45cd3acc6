package ledgertest

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// RunNewerSchema checks that a store refuses to open a ledger on which a
// newer meterd applied a migration this build lacks, whether above the
// build's last migration or in a gap between two of its migrations, with an
// error naming the ledger's version and the build's last, and still opens a
// ledger that applied only migrations it knows. dir is the store's
// migrations directory (the versions this build embeds). open makes a fresh
// ledger and closes it, records version applied in its schema_migrations
// (nothing for 0), opens the ledger again and returns that Open's error,
// closing the store when it opened.
func RunNewerSchema(t *testing.T, dir string, open func(t *testing.T, applied int64) error) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	must(t, "Glob", err)
	var known []int64
	for _, name := range names {
		var v int64
		if _, err := fmt.Sscanf(filepath.Base(name), "%d_", &v); err == nil {
			known = append(known, v)
		}
	}
	if len(known) < 2 {
		t.Fatalf("%d migrations under %s, want several", len(known), dir)
	}
	last := slices.Max(known)
	gap := int64(1)
	for slices.Contains(known, gap) {
		gap++
	}
	if gap > last {
		t.Fatalf("no gap in the migrations under %s", dir)
	}
	if err := open(t, 0); err != nil {
		t.Fatalf("Open of a ledger this build migrated = %v, want nil", err)
	}
	for _, applied := range []int64{last + 1, gap} {
		t.Run(fmt.Sprint(applied), func(t *testing.T) {
			err := open(t, applied)
			if err == nil {
				t.Fatalf("Open of a ledger with migration %04d applied by a newer meterd = nil, want an error", applied)
			}
			for _, want := range []string{"newer meterd", fmt.Sprintf("schema version %04d", max(last, applied)),
				fmt.Sprintf("knows up to %04d", last), fmt.Sprintf("lacks migration %04d", applied)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open of a ledger with migration %04d applied by a newer meterd = %q, want it to say %q", applied, err, want)
				}
			}
		})
	}
}
