package sqlite_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/sqlite"
)

// gunzip returns the contents of a gzipped file under testdata.
func gunzip(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpgrade opens a ledger written by meterd 5865ca6 (before the rollups'
// watermark, migration 0070: its Commit kept the rollups itself): 300
// records of two products, three customers and two dimensions over 52
// days around a month's end, some with tags, and the summaries that build
// answered, by customer, dimension, hour and tag, over six filters and
// windows. The migrated ledger must answer the same summaries, and still
// after more records are committed and rolled up.
func TestUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meterd.db")
	if err := os.WriteFile(path, gunzip(t, "ledger-5865ca6.db.gz"), 0o600); err != nil {
		t.Fatal(err)
	}
	var want []struct {
		Filter meterd.UsageFilter
		By     string
		Rows   []meterd.UsageSummaryRow
	}
	if err := json.Unmarshal(gunzip(t, "ledger-5865ca6.summaries.json.gz"), &want); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open of a 5865ca6 ledger = %v, want nil", err)
	}
	defer s.Close()
	s.StopRoller()
	if st := s.Stats(); st.RollupLag != 0 {
		t.Errorf("RollupLag after the migration = %d, want 0: the old rollups hold every record", st.RollupLag)
	}
	for _, q := range want {
		got, err := s.SummarizeUsage(t.Context(), q.Filter, q.By)
		if err != nil {
			t.Fatalf("SummarizeUsage(%+v, %q) = %v", q.Filter, q.By, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(q.Rows) {
			t.Errorf("SummarizeUsage(%+v, %q) after the upgrade = %v, want what 5865ca6 answered: %v", q.Filter, q.By, got, q.Rows)
		}
	}
	ledgertest.CheckSummaries(t, s)
	// New records, then rolled up: the old rollups' rows take them in.
	var recs []*meterd.MeteringRecord
	for k := range 40 {
		r := record(1000+k, fmt.Sprintf("new-cust-%d", k%3), 2)
		r.Hour = r.Hour.AddDate(0, 0, -k)
		r.Timestamp = r.Hour
		recs = append(recs, r)
	}
	if _, err := s.Commit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	ledgertest.CheckSummaries(t, s)
	if n, err := s.RollUp(t.Context(), 1000); n != len(recs) || err != nil {
		t.Fatalf("RollUp = %d, %v; want %d, nil", n, err, len(recs))
	}
	ledgertest.CheckSummaries(t, s)
}
