package sqlite

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// grain is one of the rollups behind summaries by customer, which share
// their columns but for the time column: the start of the grain's unit
// (month, day or hour) in unix seconds.
type grain struct {
	table, column string
	// start returns the start of the unit holding t, next the start of
	// the unit after the one starting at u.
	start func(t int64) int64
	next  func(u int64) int64
}

// grains are the rollups, coarsest first; usage_hourly is exact for any
// whole-hour window.
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
// read in one snapshot.
func (s *Store) summarizeByCustomer(ctx context.Context, f meterd.UsageFilter) ([]meterd.UsageSummaryRow, error) {
	from, to := int64(noFrom), int64(noTo)
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	plan := planRanges(from, to, 1, 0, nil)
	type key struct{ customer, dimension string }
	var out []meterd.UsageSummaryRow
	var at map[key]int
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		for _, r := range plan {
			rows, err := sumByCustomer(ctx, tx, grains[r.grain], f, r.from, r.to)
			if err != nil {
				return err
			}
			if at == nil {
				// Sized by the first range, the coarsest grain's, which
				// holds most groups: little rehashing as it fills.
				at = make(map[key]int, len(rows))
				out = make([]meterd.UsageSummaryRow, 0, len(rows))
			}
			for _, row := range rows {
				i, ok := at[key{row.Group, row.Dimension}]
				if !ok {
					i = len(out)
					at[key{row.Group, row.Dimension}] = i
					out = append(out, meterd.UsageSummaryRow{Group: row.Group, Dimension: row.Dimension})
				}
				out[i].Quantity += r.sign * row.Quantity
				out[i].Records += r.sign * row.Records
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A group whose records all lie in subtracted ranges is not in the
	// window.
	out = slices.DeleteFunc(out, func(r meterd.UsageSummaryRow) bool { return r.Records <= 0 })
	slices.SortFunc(out, func(a, b meterd.UsageSummaryRow) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Dimension, b.Dimension)
	})
	return out, nil
}

// sumByCustomer sums g's table by customer and dimension over its time
// column in [from, to), with f's product, customer and dimension. The
// tables' keys start with the product and the time column, so the range is
// one range of the table.
func sumByCustomer(ctx context.Context, tx *sql.Tx, g grain, f meterd.UsageFilter, from, to int64) ([]meterd.UsageSummaryRow, error) {
	var conds []string
	var args []any
	add := func(cond string, a any) {
		conds = append(conds, cond)
		args = append(args, a)
	}
	if f.ProductCode != "" {
		add(`product_code = ?`, f.ProductCode)
	}
	if f.CustomerIdentifier != "" {
		add(`customer_identifier = ?`, f.CustomerIdentifier)
	}
	if f.Dimension != "" {
		add(`dimension = ?`, f.Dimension)
	}
	if from != noFrom {
		add(g.column+` >= ?`, from)
	}
	if to != noTo {
		add(g.column+` < ?`, to)
	}
	q := `SELECT customer_identifier, dimension, SUM(quantity), SUM(records) FROM ` + g.table
	group := ` GROUP BY customer_identifier, dimension`
	if g.column == "month" {
		// A window holds few months: the caller's merge is cheaper than
		// SQLite's sort of every row by customer and dimension.
		q, group = `SELECT customer_identifier, dimension, quantity, records FROM `+g.table, ``
	}
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += group
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(rows *sql.Rows) (meterd.UsageSummaryRow, error) {
		var r meterd.UsageSummaryRow
		err := rows.Scan(&r.Group, &r.Dimension, &r.Quantity, &r.Records)
		return r, err
	})
}
