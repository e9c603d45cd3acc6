package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

const (
	// rollInterval is how often a process's roller folds the records
	// committed since the last roll (by any process) into the rollups. A
	// customer's row of the daily and monthly rollups is updated once per
	// roll that holds any of its records, and each update leaves a dead
	// row version (and mostly an index entry) that the next upserts step
	// over until vacuum: rolled every 100 ms under meterd bench -c 16
	// (400 customers), those two upserts touched 0.9 rollup rows per
	// record and took more of PostgreSQL than the records' insert. A
	// second folds several times more records into each row; summaries
	// stay exact whatever the interval (they add the records after the
	// watermark), and that tail is at most about a second of ingest.
	rollInterval = time.Second
	// rollBatch bounds the records of one roll's transaction.
	rollBatch = 20000
)

// roller rolls up every rollInterval until s.stopRoll is closed, then
// closes s.rollDone. A failed roll changes nothing and the next tick tries
// again from the same watermark.
func (s *Store) roller() {
	defer close(s.rollDone)
	t := time.NewTicker(rollInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopRoll
		cancel()
	}()
	for {
		select {
		case <-s.stopRoll:
			return
		case <-t.C:
		}
		for {
			n, err := s.RollUp(ctx, rollBatch)
			if err != nil && ctx.Err() == nil {
				s.rollErrors.Add(1)
			}
			if err != nil || n < rollBatch {
				break
			}
		}
		var lag int64
		if err := s.pool.QueryRow(ctx, `SELECT l.next - 1 - w.seq FROM ledger_sequence l, rollup_watermark w`).Scan(&lag); err == nil {
			s.rollupLag.Store(lag)
		}
	}
}

// StopRoller stops this process's background roller and waits for it;
// the rollups then move only when RollUp is called (or another process's
// roller runs). Summaries stay exact: they add the records past the
// watermark. For tests of a roller that lags or stops.
func (s *Store) StopRoller() {
	s.stopRollOnce.Do(func() { close(s.stopRoll) })
	<-s.rollDone
}

// errRollLeased is the roll's way out when another process holds the
// watermark's row.
var errRollLeased = errors.New("postgres: another process is rolling up")

// RollUp folds up to limit records committed after the rollups' watermark
// into the rollups, in seq order, and moves the watermark past them in the
// same transaction, so a crash leaves both or neither. The watermark's row,
// locked FOR UPDATE SKIP LOCKED, is the lease that keeps rollers of other
// processes (and PurgeUsage) out meanwhile; while another holds it, RollUp
// folds nothing and returns 0. seq grows in commit order (the
// ledger_sequence lock), so the records after the watermark that this
// transaction sees are the next ones; none can commit later below them.
func (s *Store) RollUp(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		n = 0
		var watermark int64
		if err := tx.QueryRow(ctx, `SELECT seq FROM rollup_watermark WHERE id = 1 FOR UPDATE SKIP LOCKED`).Scan(&watermark); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errRollLeased
			}
			return err
		}
		from := watermark
		rows, err := tx.Query(ctx, `SELECT seq, product_code, customer_identifier, dimension, hour, quantity
			FROM metering_records WHERE seq > $1 ORDER BY seq LIMIT $2`, watermark, limit)
		if err != nil {
			return err
		}
		hourly := map[hourlyKey]hourlySum{}
		var seq, quantity int64
		var product, customer, dimension string
		var hour time.Time
		_, err = pgx.ForEachRow(rows, []any{&seq, &product, &customer, &dimension, &hour, &quantity}, func() error {
			h := hour.Unix()
			k := hourlyKey{product, customer, dimension, h - h%3600}
			sum := hourly[k]
			hourly[k] = hourlySum{sum.quantity + quantity, sum.records + 1, cmp.Or(sum.firstSeq, seq), seq}
			watermark = seq
			n++
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
		b := &pgx.Batch{}
		queueHourly(b, hourly)
		// The tags of the same records: a range of usage_tags' key, each
		// joined to its record, summed in one statement.
		b.Queue(`INSERT INTO usage_tag_hourly (product_code, hour, key, value, dimension, quantity, records)
			SELECT m.product_code, date_trunc('hour', m.hour), t.key, t.value, m.dimension, sum(t.quantity), count(*)
			FROM usage_tags t JOIN metering_records m ON m.seq = t.seq
			WHERE t.seq > $1 AND t.seq <= $2
			GROUP BY 1, 2, 3, 4, 5
			ON CONFLICT (product_code, hour, key, value, dimension) DO UPDATE
			SET quantity = usage_tag_hourly.quantity + excluded.quantity, records = usage_tag_hourly.records + excluded.records`,
			from, watermark)
		b.Queue(`UPDATE rollup_watermark SET seq = $1 WHERE id = 1`, watermark)
		return tx.SendBatch(ctx, b).Close()
	})
	if errors.Is(err, errRollLeased) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: roll up: %w", err)
	}
	s.rolled.Add(int64(n))
	return n, nil
}

// readSnapshot runs fn in a read-only REPEATABLE READ transaction: every
// statement of it sees one snapshot, so the rollups, their watermark and
// the records after it agree.
func (s *Store) readSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error {
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return fmt.Errorf("%w: %w", errBegin, err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		return fn(tx)
	})
}

// rollupWatermark returns the rollups' watermark as tx sees it.
func rollupWatermark(ctx context.Context, tx pgx.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `SELECT seq FROM rollup_watermark WHERE id = 1`).Scan(&seq)
	return seq, err
}

// tailSeqs is the condition on metering_records m of the records after
// the watermark, at most limit seqs of them (0: all), with literals.
func tailSeqs(watermark, limit int64) string {
	if limit > 0 {
		return fmt.Sprintf("m.seq > %d AND m.seq <= %d", watermark, watermark+limit)
	}
	return fmt.Sprintf("m.seq > %d", watermark)
}

// Rollups returns the rollups' watermark and the ledger's last seq, read
// in one snapshot.
func (s *Store) Rollups(ctx context.Context) (meterd.RollupState, error) {
	var st meterd.RollupState
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT seq FROM rollup_watermark WHERE id = 1),
			(SELECT coalesce(max(seq), 0) FROM metering_records)`).Scan(&st.Watermark, &st.LastSeq)
	})
	if err != nil {
		return st, fmt.Errorf("postgres: rollups: %w", err)
	}
	return st, nil
}

// summarizeTail sums the records matching f after the rollups' watermark
// (what the rollups do not hold yet) grouped by group (an expression over
// metering_records m, or with tags over their usage_tags t) and
// dimension. The watermark goes into the statement as a literal so that
// the planner, knowing it, walks the end of the primary key's index rather
// than f's product and hours.
func summarizeTail(ctx context.Context, tx pgx.Tx, f meterd.UsageFilter, group string, tags bool, watermark int64, byHour bool) ([]meterd.UsageSummaryRow, error) {
	var args []any
	where := usageWhere(f, &args)
	cond := tailSeqs(watermark, f.TailLimit)
	if where == "" {
		where = " WHERE " + cond
	} else {
		where += " AND " + cond
	}
	from, quantity := "metering_records m", "m.quantity"
	if tags {
		// Each record once per tag (usage_tags t), with the quantity
		// given to it.
		from, quantity = "metering_records m JOIN usage_tags t ON t.seq = m.seq", "t.quantity"
	}
	rows, err := tx.Query(ctx, "SELECT "+group+", m.dimension, sum("+quantity+")::bigint, count(*) FROM "+from+
		where+" GROUP BY 1, 2", args...)
	if err != nil {
		return nil, err
	}
	return collectSummary(rows, byHour)
}

// collectSummary reads rows of group, dimension, quantity and records; a
// group by hour is a timestamptz, formatted as RFC 3339 in UTC.
func collectSummary(rows pgx.Rows, byHour bool) ([]meterd.UsageSummaryRow, error) {
	var out []meterd.UsageSummaryRow
	var row meterd.UsageSummaryRow
	var hour time.Time
	dest := []any{&row.Group, &row.Dimension, &row.Quantity, &row.Records}
	if byHour {
		dest[0] = &hour
	}
	_, err := pgx.ForEachRow(rows, dest, func() error {
		if byHour {
			row.Group = hour.UTC().Format(time.RFC3339)
		}
		out = append(out, row)
		return nil
	})
	return out, err
}
