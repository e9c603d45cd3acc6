package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// TestBackfillDimensionHourly checks that migration 0002 fills
// usage_dimension_hourly from the records of a ledger written before it:
// the table and its migration row are removed, as in a database of the
// previous version, and the next Open must sum the records into it again.
func TestBackfillDimensionHourly(t *testing.T) {
	ctx := t.Context()
	url := cluster.NewDatabase(t)
	s := open(t, url)
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(1, 1, 5), record(2, 2, 7), record(3, 3, 11)}); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DROP TABLE usage_dimension_hourly`,
			`DELETE FROM schema_migrations WHERE version = 2`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, url)
	f := meterd.UsageFilter{ProductCode: "demo-product", From: h0, To: h0.Add(time.Hour)}
	for _, by := range []string{"dimension", "hour"} {
		got, err := s.SummarizeUsage(ctx, f, by)
		if err != nil {
			t.Fatalf("SummarizeUsage(by %q) = %v, want nil", by, err)
		}
		group := "requests"
		if by == "hour" {
			group = h0.Format(time.RFC3339)
		}
		want := []meterd.UsageSummaryRow{{Group: group, Dimension: "requests", Quantity: 23, Records: 3}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SummarizeUsage(by %q) after the backfill = %v, want %v", by, got, want)
		}
	}
}
