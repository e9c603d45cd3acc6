package postgres

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// grain is one of the rollups behind summaries by customer, which share
// their columns but for the time column: the start of the grain's unit
// (month, day or hour).
type grain struct {
	table, column string
	// start returns the start of the unit holding t, next the start of
	// the unit after the one starting at u, in unix seconds.
	start func(t int64) int64
	next  func(u int64) int64
}

// grains are the rollups, coarsest first; usage_hourly is exact for any
// whole-hour window. The same as the SQLite store's (sqlite/summary.go).
var grains = []grain{
	{"usage_customer_monthly", "month", monthStart, func(u int64) int64 { return time.Unix(u, 0).UTC().AddDate(0, 1, 0).Unix() }},
	{"usage_customer_daily", "day", dayStart, func(u int64) int64 { return u + 24*3600 }},
	{"usage_hourly", "hour", func(t int64) int64 { return t - t%3600 }, func(u int64) int64 { return u + 3600 }},
}

// dayStart is the start of t's UTC day, in unix seconds.
func dayStart(t int64) int64 { return t - t%(24*3600) }

// monthStart is the start of t's UTC calendar month, in unix seconds.
func monthStart(t int64) int64 {
	y, m, _ := time.Unix(t, 0).UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix()
}

// Unbounded ends of a window.
const (
	noFrom = math.MinInt64
	noTo   = math.MaxInt64
)

// rangeSum is one range [from, to) of one grain's table, added (sign 1) or
// subtracted (sign -1).
type rangeSum struct {
	grain          int
	from, to, sign int64
}

// planRanges returns ranges whose signed sums are the sums over the
// whole-hour window [from, to). At each grain, each bound moves to the
// nearer unit boundary; the grain's table serves the whole units between
// them and the next grain the pieces between each bound and where it moved
// (added when the boundary is inside the window, subtracted when outside).
// So a month reads one month of usage_customer_monthly, the days nearest
// its ends (at most about 15 at each) and the hours nearest its bounds (at
// most 12 at each), rather than a row per day or hour of each customer.
func planRanges(from, to, sign int64, g int, out []rangeSum) []rangeSum {
	if from >= to {
		return out
	}
	if g == len(grains)-1 {
		return append(out, rangeSum{g, from, to, sign})
	}
	gr := grains[g]
	nearest := func(t int64, unbounded bool) int64 {
		if unbounded {
			return t
		}
		u := gr.start(t)
		if n := gr.next(u); t-u > n-t {
			return n
		}
		return u
	}
	a, b := nearest(from, from == noFrom), nearest(to, to == noTo)
	if a >= b {
		return planRanges(from, to, sign, g+1, out)
	}
	out = append(out, rangeSum{g, a, b, sign})
	out = planRanges(from, a, sign, g+1, out)  // a moved forward: add [from, a)
	out = planRanges(a, from, -sign, g+1, out) // a moved back: subtract [a, from)
	out = planRanges(b, to, sign, g+1, out)    // b moved back: add [b, to)
	out = planRanges(to, b, -sign, g+1, out)   // b moved forward: subtract [to, b)
	return out
}

// summarizeByCustomer is SummarizeUsage by customer for a window of whole
// hours without a tag filter or cursor: the signed sums of planRanges in
// one statement (so one snapshot), which the server adds up per customer
// and dimension. A group whose records all lie in subtracted ranges is not
// in the window: HAVING drops it.
func (s *Store) summarizeByCustomer(ctx context.Context, f meterd.UsageFilter) ([]meterd.UsageSummaryRow, error) {
	from, to := int64(noFrom), int64(noTo)
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	sql, args := byCustomerSQL(planRanges(from, to, 1, 0, nil), f)
	var out []meterd.UsageSummaryRow
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var row meterd.UsageSummaryRow
		_, err = pgx.ForEachRow(rows, []any{&row.Group, &row.Dimension, &row.Quantity, &row.Records}, func() error {
			out = append(out, row)
			return nil
		})
		return err
	})
	return out, err
}

// byCustomerSQL returns the statement summing the signed ranges of plan
// by customer and dimension, with f's product, customer and dimension, and
// its arguments. The filter's values are passed once and shared by every
// range. The tables' keys start with the product and the time column, so
// each range is one range of its primary key.
func byCustomerSQL(plan []rangeSum, f meterd.UsageFilter) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var common []string
	if f.ProductCode != "" {
		common = append(common, "product_code = "+arg(f.ProductCode))
	}
	if f.CustomerIdentifier != "" {
		common = append(common, "customer_identifier = "+arg(f.CustomerIdentifier))
	}
	if f.Dimension != "" {
		common = append(common, "dimension = "+arg(f.Dimension))
	}
	parts := make([]string, 0, len(plan))
	for _, r := range plan {
		g := grains[r.grain]
		conds := common
		if r.from != noFrom {
			conds = append(conds[:len(conds):len(conds)], g.column+" >= "+arg(time.Unix(r.from, 0).UTC()))
		}
		if r.to != noTo {
			conds = append(conds[:len(conds):len(conds)], g.column+" < "+arg(time.Unix(r.to, 0).UTC()))
		}
		cols := "quantity, records"
		if r.sign < 0 {
			cols = "-quantity, -records"
		}
		q := "SELECT customer_identifier, dimension, " + cols + " FROM " + g.table
		if len(conds) > 0 {
			q += " WHERE " + strings.Join(conds, " AND ")
		}
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		// An empty window: no range, no row.
		parts = append(parts, "SELECT customer_identifier, dimension, quantity, records FROM usage_hourly WHERE false")
	}
	sql := "SELECT customer_identifier, dimension, sum(quantity)::bigint, sum(records)::bigint FROM (" +
		strings.Join(parts, " UNION ALL ") + ") AS u(customer_identifier, dimension, quantity, records)" +
		" GROUP BY 1, 2 HAVING sum(records) > 0 ORDER BY 1, 2"
	return sql, args
}
