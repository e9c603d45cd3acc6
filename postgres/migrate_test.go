package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/postgres"
)

// beforeWatermark are the statements that take a database back to before
// the rollups' watermark (migration 0070), when Commit kept the rollups;
// rollUpAll first makes the rollups what that Commit wrote.
var beforeWatermark = []string{`DROP TABLE rollup_watermark`, `DELETE FROM schema_migrations WHERE version = 70`}

// rollUpAll folds the n records committed into the rollups.
func rollUpAll(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	if got, err := s.RollUp(t.Context(), 1000); got != n || err != nil {
		t.Fatalf("RollUp = %d, %v; want %d, nil", got, err, n)
	}
}

// TestBackfillDimensionHourly checks that migration 0002 fills
// usage_dimension_hourly from the records of a ledger written before it:
// the table and its migration row are removed, as in a database of the
// previous version, and the next Open must sum the records into it again.
func TestBackfillDimensionHourly(t *testing.T) {
	ctx := t.Context()
	url := cluster.NewDatabase(t)
	s := open(t, url)
	s.StopRoller()
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(1, 1, 5), record(2, 2, 7), record(3, 3, 11)}); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	rollUpAll(t, s, 3)
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		for _, q := range append([]string{
			`DROP TABLE usage_dimension_hourly`,
			`DELETE FROM schema_migrations WHERE version = 2`,
			`DELETE FROM schema_migrations WHERE version = 62`, // its seq bounds
		}, beforeWatermark...) {
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

// TestBackfillCustomerRollups checks that migrations 0004 and 0005 fill
// their rollup from a ledger written before them: the table and its
// migration row are removed, as in a database of the previous version, and
// the next Open must rebuild the same rows the commits had written, and a
// summary by customer over whole days or a whole month must read them.
func TestBackfillCustomerRollups(t *testing.T) {
	// Three records of one hour, and one of the same customer two days
	// later, so that a three-day summary by customer reads whole days.
	later := record(4, 1, 2)
	later.Resource = "cust-1-later"
	later.Hour = h0.Add(48 * time.Hour)
	recs := []*meterd.MeteringRecord{record(1, 1, 5), record(2, 2, 7), record(3, 3, 11), later}
	day := h0.Truncate(24 * time.Hour)
	want := []meterd.UsageSummaryRow{{Group: "cust-1", Dimension: "requests", Quantity: 7, Records: 2},
		{Group: "cust-2", Dimension: "requests", Quantity: 7, Records: 1}, {Group: "cust-3", Dimension: "requests", Quantity: 11, Records: 1}}
	tests := []struct {
		name, table, column string
		version, rows       int
		f                   meterd.UsageFilter
	}{
		{"CustomerDaily", "usage_customer_daily", "day", 4, 4,
			meterd.UsageFilter{ProductCode: "demo-product", From: day, To: day.Add(72 * time.Hour)}},
		{"CustomerMonthly", "usage_customer_monthly", "month", 5, 3,
			meterd.UsageFilter{ProductCode: "demo-product", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			url := cluster.NewDatabase(t)
			s := open(t, url)
			s.StopRoller()
			if _, err := s.Commit(ctx, recs); err != nil {
				t.Fatalf("Commit = %v, want nil", err)
			}
			rollUpAll(t, s, len(recs))
			written := rollupRows(t, s, tt.table, tt.column)
			if len(written) != tt.rows {
				t.Fatalf("%s after Commit = %v, want %d rows", tt.table, written, tt.rows)
			}
			err := s.Transact(ctx, func(tx pgx.Tx) error {
				for _, q := range append([]string{
					`DROP TABLE ` + tt.table,
					fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, tt.version),
				}, beforeWatermark...) {
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
			if got := rollupRows(t, s, tt.table, tt.column); fmt.Sprint(got) != fmt.Sprint(written) {
				t.Errorf("%s after the backfill = %v, want %v (as Commit wrote it)", tt.table, got, written)
			}
			got, err := s.SummarizeUsage(ctx, tt.f, "customer")
			if err != nil {
				t.Fatalf("SummarizeUsage(by customer) = %v, want nil", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("SummarizeUsage(by customer) after the backfill of %s = %v, want %v", tt.table, got, want)
			}
		})
	}
}

// rollupRows returns the rows of a rollup by customer, formatted and in
// key order.
func rollupRows(t *testing.T, s *postgres.Store, table, column string) []string {
	t.Helper()
	var out []string
	err := s.Transact(t.Context(), func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(t.Context(), `SELECT product_code, `+column+`, customer_identifier, dimension, quantity, records
			FROM `+table+` ORDER BY 1, 2, 3, 4`)
		if err != nil {
			return err
		}
		var product, customer, dimension string
		var unit time.Time
		var quantity, records int64
		_, err = pgx.ForEachRow(rows, []any{&product, &unit, &customer, &dimension, &quantity, &records}, func() error {
			out = append(out, fmt.Sprintf("%s/%s/%s/%s=%d,%d", product, unit.UTC().Format(time.RFC3339), customer, dimension, quantity, records))
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("rows of %s: %v", table, err)
	}
	return out
}

// TestClientTokenResourceByAccount checks that migration 0006 rewrites the
// resource of AgentCore records stored as "clienttoken:<token>" into
// "clienttoken:<caller account>:<token>", and leaves other records alone.
func TestClientTokenResourceByAccount(t *testing.T) {
	ctx := t.Context()
	url := cluster.NewDatabase(t)
	s := open(t, url)
	old := func(n int, account, token string) *meterd.MeteringRecord {
		r := record(n, n, 1)
		r.Operation, r.CallerAccountID, r.ClientToken, r.Resource = meterd.OpMeterUsage, account, token, "clienttoken:"+token
		return r
	}
	plain := record(3, 3, 1)
	plain.ClientToken = "tok"
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{old(1, "444455556666", "tok"), old(2, "777788889999", "other"), plain}); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	if err := s.Transact(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM schema_migrations WHERE version = 6`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, url)
	var got []string
	if err := s.Usage(ctx, meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
		got = append(got, r.Resource)
		return nil
	}); err != nil {
		t.Fatalf("Usage = %v, want nil", err)
	}
	want := []string{"clienttoken:444455556666:tok", "clienttoken:777788889999:other", "cust-3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resources after 0006 = %v, want %v", got, want)
	}
}

// TestAdminTokenUpgrade checks that migration 0007 turns the single admin
// token of the previous version (the hash in the setting
// admin_token_sha256) into the admin token named default.
func TestAdminTokenUpgrade(t *testing.T) {
	ctx := t.Context()
	url := cluster.NewDatabase(t)
	s := open(t, url)
	hash := meterd.HashAdminToken("old-token")
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{`DROP TABLE admin_tokens`, `DELETE FROM schema_migrations WHERE version = 7`,
			`INSERT INTO settings (name, value) VALUES ('admin_token_sha256', '` + hash + `')`} {
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
	tokens, err := s.AdminTokens(ctx)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("AdminTokens after the upgrade = %v, %v; want one", tokens, err)
	}
	if got := tokens[0]; got.Name != meterd.DefaultAdminToken || got.Role != meterd.RoleAdmin || got.Hash != hash || got.CreatedAt.IsZero() {
		t.Errorf("AdminTokens[0] after the upgrade = %+v, want default, admin, the old hash, a creation time", got)
	}
	if _, err := s.Setting(ctx, "admin_token_sha256"); meterd.ErrorCode(err) != meterd.ENotFound {
		t.Errorf("Setting(admin_token_sha256) after the upgrade = %v, want NotFound", err)
	}
}
