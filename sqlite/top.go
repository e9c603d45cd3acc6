package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

// TopCustomers returns the n customers with the most records in month's
// UTC calendar month: the month's rows of usage_customer_monthly, one range
// of its key per product, summed per customer, plus the records after the
// rollups' watermark (at most tailLimit seqs of them, 0 for all).
func (s *Store) TopCustomers(ctx context.Context, month time.Time, n int, tailLimit int64) ([]meterd.CustomerUsage, error) {
	start := meterd.GrainMonth.Start(month.Unix())
	end := time.Unix(start, 0).UTC().AddDate(0, 1, 0).Unix()
	var out []meterd.CustomerUsage
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		out = nil
		watermark, err := rollupWatermark(ctx, tx)
		if err != nil {
			return err
		}
		add := func(rows *sql.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var c meterd.CustomerUsage
				if err := rows.Scan(&c.ProductCode, &c.CustomerIdentifier, &c.Records, &c.Quantity); err != nil {
					return err
				}
				out = append(out, c)
			}
			return rows.Err()
		}
		rows, err := tx.QueryContext(ctx, `SELECT u.product_code, u.customer_identifier, SUM(u.records), SUM(u.quantity)
			FROM products p JOIN usage_customer_monthly u ON u.product_code = p.code AND u.month = ?
			GROUP BY u.product_code, u.customer_identifier`, start)
		if err != nil {
			return err
		}
		if err := add(rows); err != nil {
			return err
		}
		// NOT INDEXED, as in summarizeTail: the tail is a range of the rowid.
		tail, args := tailSeqs(watermark, tailLimit)
		rows, err = tx.QueryContext(ctx, `SELECT r.product_code, r.customer_identifier, COUNT(*), SUM(r.quantity)
			FROM metering_records r NOT INDEXED JOIN products p ON p.code = r.product_code
			WHERE `+tail+` AND r.hour >= ? AND r.hour < ?
			GROUP BY r.product_code, r.customer_identifier`, append(args, start, end)...)
		if err != nil {
			return err
		}
		return add(rows)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: top customers: %w", err)
	}
	return meterd.SortTopCustomers(out, n), nil
}

// Rollups returns the rollups' watermark and the ledger's last seq, read
// in one snapshot.
func (s *Store) Rollups(ctx context.Context) (meterd.RollupState, error) {
	var st meterd.RollupState
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT (SELECT seq FROM rollup_watermark),
			(SELECT COALESCE(MAX(seq), 0) FROM metering_records)`).Scan(&st.Watermark, &st.LastSeq)
	})
	if err != nil {
		return st, fmt.Errorf("sqlite: rollups: %w", err)
	}
	return st, nil
}
