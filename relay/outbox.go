package relay

import (
	"context"
	"database/sql"
	"time"

	"github.com/meterd/meterd"
)

// Freeze freezes every open aggregate whose hour starts at or before
// lastHour: its quantity, allocations and record Timestamp (the latest
// event's) are fixed from now on. It returns how many it froze.
func (s *Store) Freeze(ctx context.Context, lastHour time.Time) (int, error) {
	n := 0
	err := s.transact(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT product, customer, dimension, hour, tag_sets FROM aggregates
			WHERE state = 'open' AND hour <= ?`, lastHour.Unix())
		if err != nil {
			return wrap("list open aggregates", err)
		}
		type item struct {
			k    Key
			sets int
		}
		var items []item
		for rows.Next() {
			var it item
			var h int64
			if err := rows.Scan(&it.k.Product, &it.k.Customer, &it.k.Dimension, &h, &it.sets); err != nil {
				rows.Close()
				return wrap("list open aggregates", err)
			}
			it.k.Hour = fromUnix(h)
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("list open aggregates", err)
		}
		for _, it := range items {
			allocs, err := allocationsOf(ctx, tx, it.k)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE aggregates SET state = 'frozen', timestamp = last_ts, allocations = ?
				WHERE product = ? AND customer = ? AND dimension = ? AND hour = ?`,
				append([]any{meterd.CanonicalAllocations(allocs)}, keyArgs(it.k)...)...); err != nil {
				return wrap("freeze", err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// allocationsOf builds the UsageAllocations of an aggregate: one per
// distinct tag set, the untagged usage in one allocation without tags, and
// none at all when no event had tags.
func allocationsOf(ctx context.Context, tx *sql.Tx, k Key) ([]meterd.UsageAllocation, error) {
	rows, err := tx.QueryContext(ctx, `SELECT tags, quantity FROM allocations
		WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? ORDER BY tags`, keyArgs(k)...)
	if err != nil {
		return nil, wrap("read allocations", err)
	}
	defer rows.Close()
	var allocs []meterd.UsageAllocation
	tagged := false
	for rows.Next() {
		var tags string
		var q int64
		if err := rows.Scan(&tags, &q); err != nil {
			return nil, wrap("read allocations", err)
		}
		t, err := parseTags(tags)
		if err != nil {
			return nil, wrap("read allocation tags", err)
		}
		tagged = tagged || len(t) > 0
		allocs = append(allocs, meterd.UsageAllocation{AllocatedUsageQuantity: &q, Tags: t})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read allocations", err)
	}
	if !tagged {
		return nil, nil
	}
	return allocs, nil
}

const recordColumns = `product, customer, dimension, hour, customer_identifier, customer_aws_account_id, license_arn,
	events, quantity, state, timestamp, allocations, outcome, metering_record_id, attempts, last_error, next_attempt, submitted_at`

type scanner interface{ Scan(...any) error }

func scanRecord(sc scanner) (*Record, error) {
	var r Record
	var hour, ts, next, sub int64
	var allocs string
	if err := sc.Scan(&r.Product, &r.Customer, &r.Dimension, &hour, &r.CustomerIdentifier, &r.CustomerAWSAccountID, &r.LicenseArn,
		&r.Events, &r.Quantity, &r.State, &ts, &allocs, &r.Outcome, &r.MeteringRecordID, &r.Attempts, &r.LastError, &next, &sub); err != nil {
		return nil, err
	}
	r.Hour = fromUnix(hour)
	if ts != 0 {
		r.Timestamp = fromMS(ts)
	}
	if next != 0 {
		r.NextAttempt = fromMS(next)
	}
	if sub != 0 {
		r.SubmittedAt = fromMS(sub)
	}
	var err error
	if r.Allocations, err = meterd.ParseCanonicalAllocations(allocs); err != nil {
		return nil, err
	}
	return &r, nil
}

func queryRecords(ctx context.Context, db *sql.DB, query string, args ...any) ([]*Record, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Due returns the frozen aggregates whose next attempt is due at wall time
// now, by product and hour.
func (s *Store) Due(ctx context.Context, now time.Time) ([]*Record, error) {
	recs, err := queryRecords(ctx, s.db, `SELECT `+recordColumns+` FROM aggregates
		WHERE state = 'frozen' AND next_attempt <= ? ORDER BY product, hour, customer, dimension`, ms(now))
	return recs, wrap("due records", err)
}

// Records returns the aggregates whose hour is in [from, to), by hour,
// product, customer and dimension.
func (s *Store) Records(ctx context.Context, from, to time.Time) ([]*Record, error) {
	recs, err := queryRecords(ctx, s.db, `SELECT `+recordColumns+` FROM aggregates
		WHERE hour >= ? AND hour < ? ORDER BY hour, product, customer, dimension`, from.Unix(), to.Unix())
	return recs, wrap("records", err)
}

// Settle stores the final outcome of a frozen aggregate; at is the relay
// clock.
func (s *Store) Settle(ctx context.Context, k Key, outcome, meteringRecordID, lastError string, at time.Time) error {
	return s.transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE aggregates SET state = 'submitted', outcome = ?, metering_record_id = ?,
			last_error = CASE WHEN ?3 = '' THEN last_error ELSE ?3 END,
			error_at = CASE WHEN ?3 = '' THEN error_at ELSE ?4 END,
			attempts = attempts + 1, submitted_at = ?5
			WHERE product = ?6 AND customer = ?7 AND dimension = ?8 AND hour = ?9 AND state = 'frozen'`,
			append([]any{outcome, meteringRecordID, lastError, ms(time.Now()), ms(at)}, keyArgs(k)...)...)
		return wrap("settle", err)
	})
}

// Retry counts a failed attempt of a frozen aggregate and sets its next
// attempt (wall time).
func (s *Store) Retry(ctx context.Context, k Key, lastError string, next time.Time) error {
	return s.transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE aggregates SET attempts = attempts + 1, last_error = ?, error_at = ?, next_attempt = ?
			WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? AND state = 'frozen'`,
			append([]any{lastError, ms(time.Now()), ms(next)}, keyArgs(k)...)...)
		return wrap("retry", err)
	})
}

// Status is the state of the outbox.
type Status struct {
	Events         int64            `json:"events"`      // stored events
	LateEvents     int64            `json:"late_events"` // moved to a later hour
	Open           int64            `json:"open"`        // aggregates still taking events
	Frozen         int64            `json:"frozen"`      // waiting for a final outcome
	Backlog        int64            `json:"backlog"`     // open + frozen
	OldestPending  *time.Time       `json:"oldest_unsubmitted_hour,omitempty"`
	Outcomes       map[string]int64 `json:"outcomes"` // submitted aggregates by outcome
	LastError      string           `json:"last_error,omitempty"`
	LastErrorFor   string           `json:"last_error_for,omitempty"` // product/customer/dimension/hour
	Now            time.Time        `json:"now"`                      // relay clock
	UpstreamRegion string           `json:"upstream_region,omitempty"`
}

// Status reads the outbox's counters.
func (s *Store) Status(ctx context.Context) (*Status, error) {
	st := &Status{Outcomes: map[string]int64{}}
	err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(late), 0) FROM events`).Scan(&st.Events, &st.LateEvents)
	if err != nil {
		return nil, wrap("status", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT state, outcome, count(*), min(hour) FROM aggregates GROUP BY state, outcome`)
	if err != nil {
		return nil, wrap("status", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state, outcome string
		var n, minHour int64
		if err := rows.Scan(&state, &outcome, &n, &minHour); err != nil {
			return nil, wrap("status", err)
		}
		switch state {
		case StateOpen:
			st.Open += n
		case StateFrozen:
			st.Frozen += n
		default:
			st.Outcomes[outcome] += n
		}
		if state != StateSubmitted {
			if h := fromUnix(minHour); st.OldestPending == nil || h.Before(*st.OldestPending) {
				st.OldestPending = &h
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("status", err)
	}
	st.Backlog = st.Open + st.Frozen
	var k Key
	var h int64
	err = s.db.QueryRowContext(ctx, `SELECT product, customer, dimension, hour, last_error
		FROM aggregates WHERE last_error != '' ORDER BY error_at DESC LIMIT 1`).
		Scan(&k.Product, &k.Customer, &k.Dimension, &h, &st.LastError)
	switch {
	case isNoRows(err):
	case err != nil:
		return nil, wrap("status", err)
	default:
		st.LastErrorFor = k.Product + "/" + k.Customer + "/" + k.Dimension + "/" + fromUnix(h).Format(time.RFC3339)
	}
	return st, nil
}

// Heartbeats adds, for every hour from first to last, a frozen
// zero-quantity aggregate for each (product, customer, dimension) that had
// events in the 24 hours before it and has no aggregate in it yet. It
// returns how many it added.
func (s *Store) Heartbeats(ctx context.Context, first, last time.Time) (int, error) {
	n := 0
	err := s.transact(ctx, func(tx *sql.Tx) error {
		for h := meterd.Hour(first); !h.After(last); h = h.Add(time.Hour) {
			res, err := tx.ExecContext(ctx, `INSERT INTO aggregates (product, customer, dimension, hour,
					customer_identifier, customer_aws_account_id, license_arn, events, quantity, tag_keys, tag_sets,
					last_ts, state, timestamp)
				SELECT product, customer, dimension, ?1, min(customer_identifier), min(customer_aws_account_id), min(license_arn),
					0, 0, '[]', 0, ?2, 'frozen', ?2
				FROM aggregates WHERE hour >= ?3 AND hour < ?1 AND events > 0
				GROUP BY product, customer, dimension
				ON CONFLICT (product, customer, dimension, hour) DO NOTHING`,
				h.Unix(), ms(h), h.Add(-24*time.Hour).Unix())
			if err != nil {
				return wrap("heartbeats", err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// Prune forgets the events received before t: their ids are no longer
// recognised as repeats. Aggregates stay, for the report.
func (s *Store) Prune(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE received_at < ?`, ms(t))
		if err != nil {
			return wrap("prune", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
