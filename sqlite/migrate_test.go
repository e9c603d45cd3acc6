package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// TestBackfillDimensionHourly checks that migration 0002 fills
// usage_dimension_hourly from the records of a ledger written before it:
// the table and its migration row are removed, as in a database of the
// previous version, and the next Open must sum the records into it again.
func TestBackfillDimensionHourly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	recs := []*meterd.MeteringRecord{record(1, "cust-1", 5), record(2, "cust-2", 7), record(3, "cust-3", 11)}
	if _, err := s.Commit(ctx, recs); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE usage_dimension_hourly`, `DELETE FROM schema_migrations WHERE version = 2`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 1 database = %v, want nil", err)
	}
	defer s.Close()
	hour := recs[0].Hour
	f := meterd.UsageFilter{ProductCode: "demo-product", From: hour, To: hour.Add(time.Hour)}
	for _, by := range []string{"dimension", "hour"} {
		got, err := s.SummarizeUsage(ctx, f, by)
		if err != nil {
			t.Fatalf("SummarizeUsage(by %q) = %v, want nil", by, err)
		}
		group := "requests"
		if by == "hour" {
			group = "2026-11-23T07:00:00Z"
		}
		want := []meterd.UsageSummaryRow{{Group: group, Dimension: "requests", Quantity: 23, Records: 3}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SummarizeUsage(by %q) after the backfill = %v, want %v", by, got, want)
		}
	}
}
