package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/meterd/meterd"
)

// secondsPerDay is the grain of usage_customer_daily.
const secondsPerDay = 24 * 3600

// hourRange is a correction a by-customer summary reads from usage_hourly:
// the hours [from, to), added (sign 1) or subtracted (sign -1).
type hourRange struct {
	from, to, sign int64
}

// dayPlan is how a by-customer summary over whole hours reads its sums:
// usage_customer_daily over whole days (from and to nil when unbounded),
// then the hours between each bound and its nearer midnight from
// usage_hourly, added when the midnight lies inside the window and
// subtracted when it lies outside. Rounding to the nearer midnight reads
// at most 12 hours at each end rather than up to 23.
type dayPlan struct {
	from, to *int64
	edges    []hourRange
}

// planDays returns the dayPlan of the hour-aligned window f.From, f.To, or
// false when the window is under two days, which usage_hourly serves
// better on its own.
func planDays(f meterd.UsageFilter) (dayPlan, bool) {
	var p dayPlan
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Sub(f.From).Hours() < 48 {
		return p, false
	}
	if !f.From.IsZero() {
		a := f.From.Unix()
		d := a - a%secondsPerDay
		switch {
		case a == d:
		case a-d >= d+secondsPerDay-a: // nearer the next midnight: add [a, midnight)
			d += secondsPerDay
			p.edges = append(p.edges, hourRange{a, d, 1})
		default: // nearer the previous one: subtract [midnight, a)
			p.edges = append(p.edges, hourRange{d, a, -1})
		}
		p.from = &d
	}
	if !f.To.IsZero() {
		b := f.To.Unix()
		d := b - b%secondsPerDay
		switch {
		case b == d:
		case b-d <= d+secondsPerDay-b: // add [midnight, b)
			p.edges = append(p.edges, hourRange{d, b, 1})
		default: // subtract [b, next midnight)
			d += secondsPerDay
			p.edges = append(p.edges, hourRange{b, d, -1})
		}
		p.to = &d
	}
	return p, true
}

// summarizeByCustomer is SummarizeUsage by customer for a window of whole
// hours without a tag filter or cursor, read from usage_customer_daily and
// usage_hourly in one snapshot; false when planDays declines the window.
func (s *Store) summarizeByCustomer(ctx context.Context, f meterd.UsageFilter) ([]meterd.UsageSummaryRow, bool, error) {
	p, ok := planDays(f)
	if !ok {
		return nil, false, nil
	}
	var out []meterd.UsageSummaryRow
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = sumByCustomer(ctx, tx, "usage_customer_daily", "day", f, p.from, p.to)
		if err != nil {
			return err
		}
		type key struct{ customer, dimension string }
		at := make(map[key]int, len(out))
		for i, r := range out {
			at[key{r.Group, r.Dimension}] = i
		}
		added := false
		for _, e := range p.edges {
			rows, err := sumByCustomer(ctx, tx, "usage_hourly", "hour", f, &e.from, &e.to)
			if err != nil {
				return err
			}
			for _, r := range rows {
				i, ok := at[key{r.Group, r.Dimension}]
				if !ok {
					i, added = len(out), true
					at[key{r.Group, r.Dimension}] = i
					out = append(out, meterd.UsageSummaryRow{Group: r.Group, Dimension: r.Dimension})
				}
				out[i].Quantity += e.sign * r.Quantity
				out[i].Records += e.sign * r.Records
			}
		}
		// A group whose records all lie in subtracted hours is not in the
		// window.
		out = slices.DeleteFunc(out, func(r meterd.UsageSummaryRow) bool { return r.Records <= 0 })
		if added {
			slices.SortFunc(out, func(a, b meterd.UsageSummaryRow) int {
				if c := strings.Compare(a.Group, b.Group); c != 0 {
					return c
				}
				return strings.Compare(a.Dimension, b.Dimension)
			})
		}
		return nil
	})
	return out, true, err
}

// sumByCustomer sums the rollup table (usage_customer_daily or
// usage_hourly) by customer and dimension over timeColumn in [from, to),
// with f's product, customer and dimension, ordered by customer and
// dimension. Both tables' keys start with the product, so a product's
// summary is one range of the table.
func sumByCustomer(ctx context.Context, tx *sql.Tx, table, timeColumn string, f meterd.UsageFilter, from, to *int64) ([]meterd.UsageSummaryRow, error) {
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
	if from != nil {
		add(timeColumn+` >= ?`, *from)
	}
	if to != nil {
		add(timeColumn+` < ?`, *to)
	}
	q := `SELECT customer_identifier, dimension, SUM(quantity), SUM(records) FROM ` + table
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` GROUP BY customer_identifier, dimension ORDER BY customer_identifier, dimension`
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
