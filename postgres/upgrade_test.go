package postgres_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/postgres"
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

// TestUpgrade restores a database written by meterd 5865ca6 (pg_dump
// --inserts; before the rollups' watermark, migration 0070, when Commit
// kept the rollups itself) with the records of sqlite's TestUpgrade: 300
// records of two products, three customers and two dimensions over 52
// days, some with tags. Opened, migrated, it must answer the summaries
// that build answered (the SQLite store's, the same records), and still
// after more records are committed and rolled up.
func TestUpgrade(t *testing.T) {
	url := cluster.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), string(gunzip(t, "ledger-5865ca6.sql.gz"))); err != nil {
		t.Fatalf("restore the 5865ca6 dump: %v", err)
	}
	conn.Close(t.Context())
	var want []struct {
		Filter meterd.UsageFilter
		By     string
		Rows   []meterd.UsageSummaryRow
	}
	if err := json.Unmarshal(gunzip(t, "ledger-5865ca6.summaries.json.gz"), &want); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open of a 5865ca6 database = %v, want nil", err)
	}
	defer s.Close()
	s.StopRoller()
	if n, err := s.RollUp(t.Context(), 1000); n != 0 || err != nil {
		t.Errorf("RollUp after the migration = %d, %v; want 0: the old rollups hold every record", n, err)
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
	var recs []*meterd.MeteringRecord
	for k := range 40 {
		r := record(1000+k, 100+k%3, 2)
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
