package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// TopCustomers returns the n customers with the most records in month's
// UTC calendar month: the month's rows of usage_customer_monthly, one range
// of its key per product, summed per customer, plus the records after the
// rollups' watermark (at most tailLimit seqs of them, 0 for all), in one
// snapshot.
func (s *Store) TopCustomers(ctx context.Context, month time.Time, n int, tailLimit int64) ([]meterd.CustomerUsage, error) {
	start := time.Unix(meterd.GrainMonth.Start(month.Unix()), 0).UTC()
	end := start.AddDate(0, 1, 0)
	var out []meterd.CustomerUsage
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		out = nil
		watermark, err := rollupWatermark(ctx, tx)
		if err != nil {
			return err
		}
		var c meterd.CustomerUsage
		add := func() error {
			out = append(out, c)
			return nil
		}
		scan := []any{&c.ProductCode, &c.CustomerIdentifier, &c.Records, &c.Quantity}
		rows, err := tx.Query(ctx, `SELECT u.product_code, u.customer_identifier, sum(u.records)::bigint, sum(u.quantity)::bigint
			FROM products p JOIN usage_customer_monthly u ON u.product_code = p.code AND u.month = $1
			GROUP BY u.product_code, u.customer_identifier`, start)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, scan, add); err != nil {
			return err
		}
		// The watermark as a literal, as in summarizeTail, so that the
		// planner walks the end of the primary key.
		rows, err = tx.Query(ctx, fmt.Sprintf(`SELECT m.product_code, m.customer_identifier, count(*), sum(m.quantity)::bigint
			FROM metering_records m JOIN products p ON p.code = m.product_code
			WHERE %s AND m.hour >= $1 AND m.hour < $2
			GROUP BY m.product_code, m.customer_identifier`, tailSeqs(watermark, tailLimit)), start, end)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, scan, add)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: top customers: %w", err)
	}
	return meterd.SortTopCustomers(out, n), nil
}
