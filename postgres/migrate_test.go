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

// TestLedgerSequenceUpgrade checks that migration 0003 starts
// ledger_sequence after every seq already handed out: after the stored
// records, and after the identity sequence of the previous version even
// where Reset has deleted the records it numbered. The database is put
// back to its state before 0003 (seq an identity column starting at start),
// and the next record committed must get seq want.
func TestLedgerSequenceUpgrade(t *testing.T) {
	tests := []struct {
		name        string
		start, want int64
	}{
		{"AfterRecords", 1, 4},
		{"AfterDeletedRecords", 100, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			url := cluster.NewDatabase(t)
			s := open(t, url)
			if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(1, 1, 5), record(2, 2, 7), record(3, 3, 11)}); err != nil {
				t.Fatalf("Commit = %v, want nil", err)
			}
			err := s.Transact(ctx, func(tx pgx.Tx) error {
				for _, q := range []string{
					`DROP TABLE ledger_sequence`,
					fmt.Sprintf(`ALTER TABLE metering_records ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (START WITH %d)`, tt.start),
					`DELETE FROM schema_migrations WHERE version = 3`,
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
			if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(4, 4, 1)}); err != nil {
				t.Fatalf("Commit after the upgrade = %v, want nil", err)
			}
			var seqs []int64
			err = s.Usage(ctx, meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
				seqs = append(seqs, r.Seq)
				return nil
			})
			if err != nil {
				t.Fatalf("Usage = %v, want nil", err)
			}
			if want := []int64{1, 2, 3, tt.want}; fmt.Sprint(seqs) != fmt.Sprint(want) {
				t.Errorf("seqs after the upgrade = %v, want %v", seqs, want)
			}
		})
	}
}
