package postgres

import (
	"context"
	"math"
	"slices"
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
// hours without a tag filter or cursor: the signed sums of planRanges,
// read in one statement (so one snapshot) and added up here per customer
// and dimension. The server sums each range of days or hours by customer
// and dimension, but sends the rows of whole months as they are: a window
// holds few months, and merging their rows here is cheaper than the
// server's aggregate and sort of all of them (about 40 ms for the 20,000
// rows of a month of 10,000 customers on the 2-core test machine).
func (s *Store) summarizeByCustomer(ctx context.Context, f meterd.UsageFilter) ([]meterd.UsageSummaryRow, error) {
	from, to := int64(noFrom), int64(noTo)
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	plan := planRanges(from, to, 1, 0, nil)
	if len(plan) == 0 {
		return nil, nil
	}
	sql, args := byCustomerSQL(plan, f)
	type key struct{ customer, dimension string }
	var out []meterd.UsageSummaryRow
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		out = nil
		at := map[key]int{}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var row meterd.UsageSummaryRow
		_, err = pgx.ForEachRow(rows, []any{&row.Group, &row.Dimension, &row.Quantity, &row.Records}, func() error {
			k := key{row.Group, row.Dimension}
			i, ok := at[k]
			if !ok {
				at[k] = len(out)
				out = append(out, row)
				return nil
			}
			out[i].Quantity += row.Quantity
			out[i].Records += row.Records
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	// A group whose records all lie in subtracted ranges is not in the
	// window.
	out = slices.DeleteFunc(out, func(r meterd.UsageSummaryRow) bool { return r.Records <= 0 })
	// Bytewise, as the "C" collation of the columns sorts.
	slices.SortFunc(out, func(a, b meterd.UsageSummaryRow) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Dimension, b.Dimension)
	})
	return out, nil
}

// byCustomerSQL returns the statement reading the signed ranges of plan
// (not empty) by customer and dimension, with f's product, customer and
// dimension, and its arguments: the rows of usage_customer_monthly as they
// are, the other ranges summed. The filter's values are passed once and
// shared by every range. The tables' keys start with the product and the
// time column, so each range is one range of its primary key.
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
		conds := slices.Clip(common)
		if r.from != noFrom {
			conds = append(conds, g.column+" >= "+arg(time.Unix(r.from, 0).UTC()))
		}
		if r.to != noTo {
			conds = append(conds, g.column+" < "+arg(time.Unix(r.to, 0).UTC()))
		}
		neg := ""
		if r.sign < 0 {
			neg = "-"
		}
		q := "SELECT customer_identifier, dimension, " + neg + "sum(quantity)::bigint, " + neg + "sum(records)::bigint FROM " + g.table
		group := " GROUP BY 1, 2"
		if g.column == "month" {
			q, group = "SELECT customer_identifier, dimension, "+neg+"quantity, "+neg+"records FROM "+g.table, ""
		}
		if len(conds) > 0 {
			q += " WHERE " + strings.Join(conds, " AND ")
		}
		parts = append(parts, "("+q+group+")")
	}
	return strings.Join(parts, " UNION ALL "), args
}
