package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

// TestSummaryByCustomerPlan checks that each range a summary by customer
// reads is a range of its rollup's primary key, with a product and
// without: without one, the statements once read the whole of
// usage_hourly (2.5 s at ten million records), the same answer slowly,
// which ledgertest's summary tests cannot see.
func TestSummaryByCustomerPlan(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const hour = 1793750400 // 2026-11-04T00:00:00Z
	filters := []meterd.UsageFilter{
		{},
		{ProductCode: "prod-a"},
		{CustomerIdentifier: "cust-a"},
		{Dimension: "requests"},
	}
	check := func(table, q string, args []any, what string) {
		t.Helper()
		rows, err := s.read.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		details, err := collect(rows, func(rows *sql.Rows) (string, error) {
			var id, parent, unused int
			var detail string
			err := rows.Scan(&id, &parent, &unused, &detail)
			return detail, err
		})
		if err != nil {
			t.Fatal(err)
		}
		searched := false
		for _, d := range details {
			if strings.HasPrefix(d, "SCAN "+table) {
				t.Errorf("%s %s: %s in the plan of %s", table, what, d, q)
			}
			searched = searched || strings.HasPrefix(d, "SEARCH "+table+" USING PRIMARY KEY (product_code=?")
		}
		if !searched {
			t.Errorf("%s %s: no search of its primary key by product in the plan %q of %s", table, what, details, q)
		}
	}
	for _, f := range filters {
		for grain := range grainTables {
			for _, bounds := range [][2]int64{{hour, hour + 3*3600}, {meterd.NoFrom, meterd.NoTo}} {
				q, args := byCustomerSQL(meterd.Grain(grain), f, bounds[0], bounds[1])
				check(grainTables[grain].table, q, args, fmt.Sprintf("%+v %v", f, bounds))
			}
		}
		// The first and last hours that planByCustomer reads.
		q, args := rolledHoursSQL(f)
		check("usage_hourly", q, args, fmt.Sprintf("%+v, first and last hours", f))
	}
}
