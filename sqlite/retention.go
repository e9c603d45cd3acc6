package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PurgeClientTokens deletes up to limit ClientTokens stored before before,
// oldest first.
func (s *Store) PurgeClientTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, "client tokens", `DELETE FROM client_tokens WHERE (caller_account_id, client_token) IN
		(SELECT caller_account_id, client_token FROM client_tokens WHERE created_at_ms < ? ORDER BY created_at_ms LIMIT ?)`,
		ms(before), limit)
}

// PurgeRegistrationTokens deletes up to limit registration tokens that
// expired before before.
func (s *Store) PurgeRegistrationTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, "registration tokens", `DELETE FROM registration_tokens WHERE token IN
		(SELECT token FROM registration_tokens WHERE expires_at_ms < ? ORDER BY expires_at_ms LIMIT ?)`,
		ms(before), limit)
}

// purge runs one DELETE and returns the rows it deleted.
func (s *Store) purge(ctx context.Context, what, query string, args ...any) (int, error) {
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge %s: %w", what, err)
	}
	return int(n), nil
}

// rollupTables are the rollups' tables, in the order of the rollup
// indexes, with the WHERE clause of one row's key: its arguments are
// rollupKeyArgs.
var rollupTables = [numRollups]struct{ table, key string }{
	rollupHourly:          {"usage_hourly", "product_code = ? AND hour = ? AND customer_identifier = ? AND dimension = ?"},
	rollupDimensionHourly: {"usage_dimension_hourly", "product_code = ? AND dimension = ? AND hour = ?"},
	rollupCustomerDaily:   {"usage_customer_daily", "product_code = ? AND day = ? AND customer_identifier = ? AND dimension = ?"},
	rollupCustomerMonthly: {"usage_customer_monthly", "product_code = ? AND month = ? AND customer_identifier = ? AND dimension = ?"},
}

// rollupKeyArgs are the arguments of rollupTables[i].key for k.
func rollupKeyArgs(i int, k rollupKey) []any {
	if i == rollupDimensionHourly {
		return []any{k.product, k.dimension, k.t}
	}
	return []any{k.product, k.t, k.customer, k.dimension}
}

// PurgeUsage deletes up to limit records whose hour is before before, with
// their tags, and subtracts them from the rollups (tags included) in the same
// transaction, deleting rollup rows left with no record. Records are found
// per product through the unique key, which starts (product_code, hour).
func (s *Store) PurgeUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	cut := before.Unix()
	var deleted int
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		deleted = 0
		// The products with old usage: in the rollups, or among the
		// records not rolled up yet.
		products, err := queryStrings(ctx, tx, `SELECT product_code FROM usage_dimension_hourly WHERE hour < ?
			UNION SELECT product_code FROM metering_records NOT INDEXED WHERE seq > (SELECT seq FROM rollup_watermark) AND hour < ?`, cut, cut)
		if err != nil {
			return err
		}
		watermark, err := rollupWatermark(ctx, tx)
		if err != nil {
			return err
		}
		// Taken out of the rollups: the records they hold, those up to
		// the watermark. The roller never sees the others.
		rolled := newRollupSums()
		var seqs []int64
		type recordOf struct {
			product, dimension string
			hour               int64
		}
		rolledRecords := map[int64]recordOf{}
		for _, product := range products {
			if len(seqs) >= limit {
				break
			}
			rows, err := tx.QueryContext(ctx, `SELECT seq, customer_identifier, dimension, hour, quantity FROM metering_records
				WHERE product_code = ? AND hour < ? LIMIT ?`, product, cut, limit-len(seqs))
			if err != nil {
				return err
			}
			for rows.Next() {
				var seq, hour, q int64
				var customer, dimension string
				if err := rows.Scan(&seq, &customer, &dimension, &hour, &q); err != nil {
					rows.Close()
					return err
				}
				seqs = append(seqs, seq)
				if seq <= watermark {
					rolled.add(seq, product, customer, dimension, hour, q, 1)
					rolledRecords[seq] = recordOf{product, dimension, hour}
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		rolledTags := tagSums{}
		for _, seq := range seqs {
			if r, ok := rolledRecords[seq]; ok {
				if err := purgedTags(ctx, tx, seq, func(key, value string, q int64) {
					rolledTags.add(r.product, r.dimension, r.hour, key, value, q, -1)
				}); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM metering_records WHERE seq = ?`, seq); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM usage_tags WHERE seq = ?`, seq); err != nil {
				return err
			}
		}
		for i, sums := range rolled {
			t := rollupTables[i]
			for k, sum := range sums {
				key := rollupKeyArgs(i, k)
				if _, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET quantity = quantity - ?, records = records - ? WHERE `+t.key,
					append([]any{sum.quantity, sum.records}, key...)...); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE records <= 0 AND `+t.key, key...); err != nil {
					return err
				}
			}
		}
		deleted = len(seqs)
		return writeTagSums(ctx, tx, rolledTags)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge usage: %w", err)
	}
	return deleted, nil
}

// purgedTags calls add with each tag of the record of seq.
func purgedTags(ctx context.Context, tx *sql.Tx, seq int64, add func(key, value string, quantity int64)) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, value, quantity FROM usage_tags WHERE seq = ?`, seq)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, value string
		var q int64
		if err := rows.Scan(&key, &value, &q); err != nil {
			return err
		}
		add(key, value, q)
	}
	return rows.Err()
}

// queryStrings returns the one text column of a query's rows.
func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
