package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// PurgeClientTokens deletes up to limit ClientTokens stored before before,
// oldest first.
func (s *Store) PurgeClientTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, "client tokens", `DELETE FROM client_tokens WHERE (caller_account_id, client_token) IN
		(SELECT caller_account_id, client_token FROM client_tokens WHERE created_at < $1 ORDER BY created_at LIMIT $2)`,
		ms(before), limit)
}

// PurgeRegistrationTokens deletes up to limit registration tokens that
// expired before before.
func (s *Store) PurgeRegistrationTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, "registration tokens", `DELETE FROM registration_tokens WHERE token IN
		(SELECT token FROM registration_tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)`,
		ms(before), limit)
}

// purge runs one DELETE in its own transaction and returns the rows it
// deleted.
func (s *Store) purge(ctx context.Context, what, sql string, args ...any) (int, error) {
	var n int
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: purge %s: %w", what, err)
	}
	return n, nil
}

// PurgeUsage deletes up to limit records whose hour is before before, with
// their tags, and subtracts them from the rollups in the same transaction
// (the upserts of a commit, with negative sums), deleting rollup rows left
// with no record. Only the records up to the rollups' watermark are in
// the rollups; the others are only deleted. It first locks the
// watermark's row, as a roll does, so that its rollup updates never
// interleave with a roll's.
func (s *Store) PurgeUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	cut := ms(before)
	var deleted int
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		deleted = 0
		var watermark int64
		if err := tx.QueryRow(ctx, "SELECT seq FROM rollup_watermark WHERE id = 1 FOR UPDATE").Scan(&watermark); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT product_code FROM usage_dimension_hourly WHERE hour < $1
			UNION SELECT product_code FROM metering_records WHERE seq > $2 AND hour < $1`, cut, watermark)
		if err != nil {
			return err
		}
		products, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		hourly := map[hourlyKey]hourlySum{}
		var seqs []int64
		// The rolled records purged, for their tags' rollup rows.
		var rolledSeqs []int64
		var rolledProducts, rolledDimensions []string
		var rolledHours []time.Time
		for _, product := range products {
			if len(seqs) >= limit {
				break
			}
			rows, err := tx.Query(ctx, `DELETE FROM metering_records WHERE seq IN
				(SELECT seq FROM metering_records WHERE product_code = $1 AND hour < $2 LIMIT $3)
				RETURNING seq, customer_identifier, dimension, hour, quantity`, product, cut, limit-len(seqs))
			if err != nil {
				return err
			}
			var seq, q int64
			var customer, dimension string
			var hour time.Time
			_, err = pgx.ForEachRow(rows, []any{&seq, &customer, &dimension, &hour, &q}, func() error {
				seqs = append(seqs, seq)
				if seq > watermark {
					return nil
				}
				h := hour.Unix()
				k := hourlyKey{product, customer, dimension, h - h%3600}
				sum := hourly[k]
				hourly[k] = hourlySum{quantity: sum.quantity - q, records: sum.records - 1}
				rolledSeqs, rolledProducts = append(rolledSeqs, seq), append(rolledProducts, product)
				rolledDimensions, rolledHours = append(rolledDimensions, dimension), append(rolledHours, hour)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if len(seqs) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		// The tags of the rolled records leave usage_tag_hourly as they
		// leave usage_tags.
		b.Queue(`WITH gone AS (DELETE FROM usage_tags WHERE seq = ANY($1) RETURNING seq, key, value, quantity),
			rolled AS (SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[]) AS r(seq, product_code, dimension, hour)),
			sums AS (SELECT r.product_code, date_trunc('hour', r.hour) AS hour, g.key, g.value, r.dimension,
				sum(g.quantity) AS quantity, count(*) AS records
				FROM gone g JOIN rolled r ON r.seq = g.seq GROUP BY 1, 2, 3, 4, 5)
			UPDATE usage_tag_hourly u SET quantity = u.quantity - s.quantity, records = u.records - s.records FROM sums s
			WHERE u.product_code = s.product_code AND u.hour = s.hour AND u.key = s.key AND u.value = s.value AND u.dimension = s.dimension`,
			seqs, rolledSeqs, rolledProducts, rolledDimensions, rolledHours)
		if len(hourly) > 0 {
			queueHourly(b, hourly)
		}
		for _, t := range []struct{ table, column string }{
			{"usage_hourly", "hour"}, {"usage_dimension_hourly", "hour"}, {"usage_tag_hourly", "hour"},
			grainTables[meterd.GrainDay], grainTables[meterd.GrainMonth],
		} {
			b.Queue(`DELETE FROM `+t.table+` WHERE product_code = ANY($1) AND `+t.column+` < $2 AND records <= 0`, products, cut)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		deleted = len(seqs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: purge usage: %w", err)
	}
	return deleted, nil
}
