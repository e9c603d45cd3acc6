package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/meterd/meterd"
)

// grainTables names each grain's rollup and its time column (unix seconds).
var grainTables = [...]struct{ table, column string }{
	meterd.GrainMonth: {"usage_customer_monthly", "month"},
	meterd.GrainDay:   {"usage_customer_daily", "day"},
	meterd.GrainHour:  {"usage_hourly", "hour"},
}

// summarizeByCustomer is SummarizeUsage by customer for a window of whole
// hours without a tag filter or cursor: the signed sums of
// meterd.PlanSummaryRanges, read in one snapshot.
func (s *Store) summarizeByCustomer(ctx context.Context, f meterd.UsageFilter) ([]meterd.UsageSummaryRow, error) {
	plan := meterd.PlanSummaryRanges(meterd.SummaryWindow(f))
	type key struct{ customer, dimension string }
	var out []meterd.UsageSummaryRow
	var at map[key]int
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		watermark, err := rollupWatermark(ctx, tx)
		if err != nil {
			return err
		}
		tail, err := summarizeTail(ctx, tx, f, "r.customer_identifier", watermark, scanSummaryRow)
		if err != nil {
			return err
		}
		// The records after the watermark, which the rollups do not hold
		// yet, are added as one more range.
		plan := append(plan, meterd.SummaryRange{Grain: grainTail, Sign: 1})
		for _, r := range plan {
			rows := tail
			if r.Grain != grainTail {
				if rows, err = sumByCustomer(ctx, tx, r.Grain, f, r.From, r.To); err != nil {
					return err
				}
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
				out[i].Quantity += r.Sign * row.Quantity
				out[i].Records += r.Sign * row.Records
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return meterd.FinishCustomerSummary(out), nil
}

// rolledProducts is a statement returning the product codes that the
// rollups hold, one step of usage_dimension_hourly's primary key per
// product (each the next code after the last), not a read of every row.
const rolledProducts = `WITH RECURSIVE p(code) AS (
		SELECT MIN(product_code) FROM usage_dimension_hourly
		UNION ALL
		SELECT (SELECT MIN(product_code) FROM usage_dimension_hourly WHERE product_code > p.code)
		FROM p WHERE p.code IS NOT NULL)
	SELECT code FROM p WHERE code IS NOT NULL`

// sumByCustomer sums g's rollup by customer and dimension over its time
// column in [from, to), with f's product, customer and dimension. The
// tables' keys start with the product and the time column, so the range is
// one range of the key per product: without a product in f, the statement
// names every product the rollups hold (rolledProducts), since a range of
// hours alone is no range of the key and SQLite read all of usage_hourly
// for it (2.5 s at ten million records, as PostgreSQL did).
func sumByCustomer(ctx context.Context, tx *sql.Tx, grain meterd.Grain, f meterd.UsageFilter, from, to int64) ([]meterd.UsageSummaryRow, error) {
	q, args := byCustomerSQL(grain, f, from, to)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSummaryRow)
}

// byCustomerSQL returns sumByCustomer's statement and its arguments.
func byCustomerSQL(grain meterd.Grain, f meterd.UsageFilter, from, to int64) (string, []any) {
	g := grainTables[grain]
	var conds []string
	var args []any
	add := func(cond string, a any) {
		conds = append(conds, cond)
		args = append(args, a)
	}
	if f.ProductCode != "" {
		add(`product_code = ?`, f.ProductCode)
	} else {
		conds = append(conds, `product_code IN (`+rolledProducts+`)`)
	}
	if f.CustomerIdentifier != "" {
		add(`customer_identifier = ?`, f.CustomerIdentifier)
	}
	if f.Dimension != "" {
		add(`dimension = ?`, f.Dimension)
	}
	if from != meterd.NoFrom {
		add(g.column+` >= ?`, from)
	}
	if to != meterd.NoTo {
		add(g.column+` < ?`, to)
	}
	q := `SELECT customer_identifier, dimension, SUM(quantity), SUM(records) FROM ` + g.table
	group := ` GROUP BY customer_identifier, dimension`
	if grain == meterd.GrainMonth {
		// A window holds few months: the caller's merge is cheaper than
		// SQLite's sort of every row by customer and dimension.
		q, group = `SELECT customer_identifier, dimension, quantity, records FROM `+g.table, ``
	}
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q + group, args
}

// grainTail stands for the records after the rollups' watermark in a
// summary's plan.
const grainTail meterd.Grain = -1

// scanSummaryRow scans a row of group, dimension, quantity and records.
func scanSummaryRow(rows *sql.Rows) (meterd.UsageSummaryRow, error) {
	var r meterd.UsageSummaryRow
	err := rows.Scan(&r.Group, &r.Dimension, &r.Quantity, &r.Records)
	return r, err
}
