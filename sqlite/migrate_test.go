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

// TestBackfillRollups checks that migrations 0002 to 0004 fill their
// rollup from a ledger written before them: the table and its migration
// row are removed, as in a database of the previous version, and the next
// Open must sum the records into it again.
func TestBackfillRollups(t *testing.T) {
	// Three records of one hour, and one of the same customer two days
	// later, so that a three-day summary by customer reads whole days.
	recs := []*meterd.MeteringRecord{record(1, "cust-1", 5), record(2, "cust-2", 7), record(3, "cust-3", 11), record(4, "cust-1", 2)}
	recs[3].Hour = recs[3].Hour.Add(48 * time.Hour)
	hour := recs[0].Hour
	tests := []struct {
		name    string
		table   string
		version int
		f       meterd.UsageFilter
		by      string
		want    []meterd.UsageSummaryRow
	}{
		{"DimensionHourly", "usage_dimension_hourly", 2, meterd.UsageFilter{ProductCode: "demo-product", From: hour, To: hour.Add(time.Hour)}, "dimension",
			[]meterd.UsageSummaryRow{{Group: "requests", Dimension: "requests", Quantity: 23, Records: 3}}},
		{"DimensionHourlyByHour", "usage_dimension_hourly", 2, meterd.UsageFilter{ProductCode: "demo-product", From: hour, To: hour.Add(time.Hour)}, "hour",
			[]meterd.UsageSummaryRow{{Group: "2026-11-23T07:00:00Z", Dimension: "requests", Quantity: 23, Records: 3}}},
		{"CustomerMonthly", "usage_customer_monthly", 4, meterd.UsageFilter{ProductCode: "demo-product", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, "customer",
			[]meterd.UsageSummaryRow{{Group: "cust-1", Dimension: "requests", Quantity: 7, Records: 2},
				{Group: "cust-2", Dimension: "requests", Quantity: 7, Records: 1}, {Group: "cust-3", Dimension: "requests", Quantity: 11, Records: 1}}},
		{"CustomerDaily", "usage_customer_daily", 3, meterd.UsageFilter{ProductCode: "demo-product", From: hour.Truncate(24 * time.Hour), To: hour.Truncate(24 * time.Hour).Add(72 * time.Hour)}, "customer",
			[]meterd.UsageSummaryRow{{Group: "cust-1", Dimension: "requests", Quantity: 7, Records: 2},
				{Group: "cust-2", Dimension: "requests", Quantity: 7, Records: 1}, {Group: "cust-3", Dimension: "requests", Quantity: 11, Records: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			// Rolled up as the commit of that version did, before its
			// rollups' watermark (migration 0070) existed.
			path := rolledLedger(t, recs)

			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			undo := []string{`DROP TABLE ` + tt.table, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, tt.version),
				`DROP TABLE rollup_watermark`, `DELETE FROM schema_migrations WHERE version = 70`}
			if tt.table == "usage_dimension_hourly" { // 0062 added its seq bounds
				undo = append(undo, `DELETE FROM schema_migrations WHERE version = 62`)
			}
			for _, q := range undo {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatalf("Open of a database without %s = %v, want nil", tt.table, err)
			}
			defer s.Close()
			got, err := s.SummarizeUsage(ctx, tt.f, tt.by)
			if err != nil {
				t.Fatalf("SummarizeUsage(by %q) = %v, want nil", tt.by, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("SummarizeUsage(by %q) after the backfill of %s = %v, want %v", tt.by, tt.table, got, tt.want)
			}
		})
	}
}

// TestClientTokenResourceByAccount checks that migration 0005 rewrites the
// resource of AgentCore records stored as "clienttoken:<token>" into
// "clienttoken:<caller account>:<token>", and leaves other records alone.
func TestClientTokenResourceByAccount(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	old := func(n int, account, token string) *meterd.MeteringRecord {
		r := record(n, "cust-"+account, 1)
		r.Operation, r.CallerAccountID, r.ClientToken, r.Resource = meterd.OpMeterUsage, account, token, "clienttoken:"+token
		return r
	}
	plain := record(3, "cust-3", 1)
	plain.ClientToken = "tok"
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{old(1, "444455556666", "tok"), old(2, "777788889999", "other"), plain}); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a database before 0005 = %v, want nil", err)
	}
	defer s.Close()
	var got []string
	if err := s.Usage(ctx, meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
		got = append(got, r.Resource)
		return nil
	}); err != nil {
		t.Fatalf("Usage = %v, want nil", err)
	}
	want := []string{"clienttoken:444455556666:tok", "clienttoken:777788889999:other", "cust-3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resources after 0005 = %v, want %v", got, want)
	}
}

// TestAdminTokenUpgrade checks that migration 0006 turns the single admin
// token of the previous version (the hash in the setting
// admin_token_sha256) into the admin token named default, so that an
// upgrade locks nobody out.
func TestAdminTokenUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	hash := meterd.HashAdminToken("old-token")
	for _, q := range []string{`DROP TABLE admin_tokens`, `DELETE FROM schema_migrations WHERE version = 6`,
		`INSERT INTO settings (name, value) VALUES ('admin_token_sha256', '` + hash + `')`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a database with the old admin token = %v, want nil", err)
	}
	defer s.Close()
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

// TestBackfillDimensionHourlySeqs checks that migration 0062 fills
// usage_dimension_hourly's seq bounds on a ledger that has the rollups'
// watermark (0070) already, the order in which a ledger of the release
// before it meets 0062: the columns and the migration's row are removed,
// and the next Open must set each row's bounds to its records' lowest and
// highest seq, and Usage must find the records of a window through them.
func TestBackfillDimensionHourlySeqs(t *testing.T) {
	ctx := t.Context()
	// Two hours, each with records committed before and after the other's.
	var recs []*meterd.MeteringRecord
	for i := range 6 {
		r := record(i+1, fmt.Sprintf("cust-%d", i), int64(i+1))
		r.Hour = r.Hour.Add(time.Duration(i%2) * time.Hour)
		recs = append(recs, r)
	}
	path := rolledLedger(t, recs)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`ALTER TABLE usage_dimension_hourly DROP COLUMN first_seq`, `ALTER TABLE usage_dimension_hourly DROP COLUMN last_seq`,
		`DELETE FROM schema_migrations WHERE version = 62`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a database without 0062 = %v, want nil", err)
	}
	defer s.Close()
	rows, err := db.QueryContext(ctx, `SELECT hour, first_seq, last_seq FROM usage_dimension_hourly ORDER BY hour`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var hour, first, last int64
		if err := rows.Scan(&hour, &first, &last); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %d-%d", time.Unix(hour, 0).UTC().Format("15:04"), first, last))
	}
	if want := []string{"07:00 1-5", "08:00 2-6"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("usage_dimension_hourly's bounds after the backfill = %v, want %v", got, want)
	}
	var ids []string
	err = s.Usage(ctx, meterd.UsageFilter{ProductCode: "demo-product", From: recs[1].Hour, Limit: 2}, func(r *meterd.MeteringRecord) error {
		ids = append(ids, r.CustomerIdentifier)
		return nil
	})
	if want := []string{"cust-1", "cust-3"}; err != nil || fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("Usage(the second hour, 2 records) = %v, %v; want %v, nil", ids, err, want)
	}
}

// rolledLedger commits recs to a new ledger with the roller stopped, rolls
// them all up, closes it and returns its path.
func rolledLedger(t *testing.T, recs []*meterd.MeteringRecord) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	s.StopRoller()
	if _, err := s.Commit(ctx, recs); err != nil {
		t.Fatalf("Commit = %v, want nil", err)
	}
	if n, err := s.RollUp(ctx, 100); n != len(recs) || err != nil {
		t.Fatalf("RollUp = %d, %v; want %d, nil", n, err, len(recs))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	return path
}
