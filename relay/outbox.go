package relay

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// Freeze freezes every open aggregate whose hour starts at or before
// lastHour: its quantity, allocations and record Timestamp (the latest
// event's) are fixed from now on. It returns how many it froze.
func (s *Store) Freeze(ctx context.Context, lastHour time.Time) (int, error) {
	n := 0
	err := s.transact(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT product, customer, dimension, hour, tag_sets FROM aggregates
			WHERE state = 'open' AND hour <= ? AND quarantined = ''`), lastHour.Unix())
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
			allocs, err := s.allocationsOf(ctx, tx, it.k)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, s.q(`UPDATE aggregates SET state = 'frozen', timestamp = last_ts, allocations = ?
				WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? AND state = 'open'`),
				append([]any{meterd.CanonicalAllocations(allocs)}, keyArgs(it.k)...)...)
			if err != nil {
				return wrap("freeze", err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// allocationsOf builds the UsageAllocations of an aggregate: one per
// distinct tag set, the untagged usage in one allocation without tags, and
// none at all when no event had tags.
func (s *Store) allocationsOf(ctx context.Context, tx *sql.Tx, k Key) ([]meterd.UsageAllocation, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT tags, quantity FROM allocations
		WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? ORDER BY tags`), keyArgs(k)...)
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
	events, quantity, state, timestamp, allocations, outcome, metering_record_id, attempts, last_error, next_attempt, submitted_at,
	quarantined`

type scanner interface{ Scan(...any) error }

func scanRecord(sc scanner) (*Record, error) {
	var r Record
	var hour, ts, next, sub int64
	var allocs string
	var quantity any // see recordQuantity
	if err := sc.Scan(&r.Product, &r.Customer, &r.Dimension, &hour, &r.CustomerIdentifier, &r.CustomerAWSAccountID, &r.LicenseArn,
		&r.Events, &quantity, &r.State, &ts, &allocs, &r.Outcome, &r.MeteringRecordID, &r.Attempts, &r.LastError, &next, &sub,
		&r.Quarantined); err != nil {
		return nil, err
	}
	var ok bool
	if r.Quantity, ok = recordQuantity(quantity); !ok && r.Quarantined == "" {
		r.Quarantined = badQuantity(quantity)
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
	if r.Allocations, err = meterd.ParseCanonicalAllocations(allocs); err != nil && r.Quarantined == "" {
		// A row that cannot be read is shown, not an error for the whole
		// report; Quarantine keeps it from being sent.
		r.Quarantined = "allocations: " + err.Error()
	}
	return &r, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRecords(ctx context.Context, db querier, query string, args ...any) ([]*Record, error) {
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

// Claim takes up to limit frozen aggregates whose next attempt is due at
// wall time now and that no relay holds, and holds them until now+lease:
// relays sharing the store never send the same record at the same time.
// A relay that dies holding records leaves them to the others once the
// lease ends (a SQLite store releases them when it is opened again); a
// resend is the identical frozen record, so it cannot double-bill. Settle,
// Retry and Release end the hold. The records come by product and hour.
func (s *Store) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Record, error) {
	var recs []*Record
	err := s.transact(ctx, func(tx *sql.Tx) error {
		var err error
		recs, err = queryRecords(ctx, tx, s.q(`UPDATE aggregates SET claimed_until = ?1
			WHERE state = 'frozen' AND next_attempt <= ?2 AND claimed_until <= ?2 AND quarantined = ''
			AND (product, customer, dimension, hour) IN (SELECT product, customer, dimension, hour FROM aggregates
				WHERE state = 'frozen' AND next_attempt <= ?2 AND claimed_until <= ?2 AND quarantined = ''
				ORDER BY product, hour, customer, dimension LIMIT ?3)
			RETURNING `+recordColumns), ms(now.Add(lease)), ms(now), limit)
		return wrap("claim", err)
	})
	if err != nil {
		return nil, err
	}
	// RETURNING comes in no particular order.
	slices.SortFunc(recs, func(a, b *Record) int {
		return cmp.Or(strings.Compare(a.Product, b.Product), a.Hour.Compare(b.Hour),
			strings.Compare(a.Customer, b.Customer), strings.Compare(a.Dimension, b.Dimension))
	})
	return recs, nil
}

// Release ends the hold on claimed records that were not sent, so that
// they are due again at once.
func (s *Store) Release(ctx context.Context, keys []Key) error {
	return s.transact(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE aggregates SET claimed_until = 0
				WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? AND state = 'frozen'`), keyArgs(k)...); err != nil {
				return wrap("release", err)
			}
		}
		return nil
	})
}

// Records returns the aggregates whose hour is in [from, to), by hour,
// product, customer and dimension.
func (s *Store) Records(ctx context.Context, from, to time.Time) ([]*Record, error) {
	recs, err := queryRecords(ctx, s.db, s.q(`SELECT `+recordColumns+` FROM aggregates
		WHERE hour >= ? AND hour < ? ORDER BY hour, product, customer, dimension`), from.Unix(), to.Unix())
	return recs, wrap("records", err)
}

// Settle stores the final outcome of a frozen aggregate; at is the relay
// clock.
func (s *Store) Settle(ctx context.Context, k Key, outcome, meteringRecordID, lastError string, at time.Time) error {
	return s.transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE aggregates SET state = 'submitted', outcome = ?1, metering_record_id = ?2,
			last_error = CASE WHEN ?3 = '' THEN last_error ELSE ?3 END,
			error_at = CASE WHEN ?3 = '' THEN error_at ELSE ?4 END,
			attempts = attempts + 1, submitted_at = ?5, claimed_until = 0
			WHERE product = ?6 AND customer = ?7 AND dimension = ?8 AND hour = ?9 AND state = 'frozen'`),
			append([]any{outcome, meteringRecordID, lastError, ms(time.Now()), ms(at)}, keyArgs(k)...)...)
		return wrap("settle", err)
	})
}

// Retry counts a failed attempt of a frozen aggregate and sets its next
// attempt (wall time).
func (s *Store) Retry(ctx context.Context, k Key, lastError string, next time.Time) error {
	return s.transact(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE aggregates SET attempts = attempts + 1, last_error = ?, error_at = ?, next_attempt = ?,
			claimed_until = 0
			WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? AND state = 'frozen'`),
			append([]any{lastError, ms(time.Now()), ms(next)}, keyArgs(k)...)...)
		return wrap("retry", err)
	})
}

// Status is the state of the outbox.
type Status struct {
	Events     int64 `json:"events"`      // stored events
	LateEvents int64 `json:"late_events"` // moved to a later hour
	Open       int64 `json:"open"`        // aggregates still taking events
	Frozen     int64 `json:"frozen"`      // waiting for a final outcome
	Backlog    int64 `json:"backlog"`     // open + frozen
	// Quarantined counts aggregates that cannot be sent (not in Open,
	// Frozen or Backlog); LastQuarantined is one of them, the latest hour.
	Quarantined     int64            `json:"quarantined"`
	LastQuarantined *Quarantined     `json:"last_quarantined,omitempty"`
	OldestPending   *time.Time       `json:"oldest_unsubmitted_hour,omitempty"`
	Outcomes        map[string]int64 `json:"outcomes"` // submitted aggregates by outcome
	LastError       string           `json:"last_error,omitempty"`
	LastErrorFor    string           `json:"last_error_for,omitempty"` // product/customer/dimension/hour
	Now             time.Time        `json:"now"`                      // relay clock
	UpstreamRegion  string           `json:"upstream_region,omitempty"`
	// UpstreamAuth is set while the upstream refuses the relay's
	// credentials (the relay answering only: relays sharing a store each
	// have their own).
	UpstreamAuth *AuthAlert `json:"upstream_auth_error,omitempty"`
}

// Status reads the outbox's counters.
func (s *Store) Status(ctx context.Context) (*Status, error) {
	st := &Status{Outcomes: map[string]int64{}}
	err := s.db.QueryRowContext(ctx, `SELECT count(*), CAST(coalesce(sum(late), 0) AS BIGINT) FROM events`).Scan(&st.Events, &st.LateEvents)
	if err != nil {
		return nil, wrap("status", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT state, outcome, quarantined != '', count(*), min(hour) FROM aggregates
		GROUP BY state, outcome, quarantined != ''`)
	if err != nil {
		return nil, wrap("status", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state, outcome string
		var quarantined bool
		var n, minHour int64
		if err := rows.Scan(&state, &outcome, &quarantined, &n, &minHour); err != nil {
			return nil, wrap("status", err)
		}
		switch {
		case quarantined && state != StateSubmitted:
			st.Quarantined += n
			continue
		case state == StateOpen:
			st.Open += n
		case state == StateFrozen:
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
	if st.Quarantined > 0 {
		var q Quarantined
		err := s.db.QueryRowContext(ctx, `SELECT product, customer, dimension, hour, quarantined FROM aggregates
			WHERE quarantined != '' AND state != 'submitted' ORDER BY hour DESC, product, customer, dimension LIMIT 1`).
			Scan(&q.Product, &q.Customer, &q.Dimension, &h, &q.Reason)
		if err != nil && !isNoRows(err) {
			return nil, wrap("status", err)
		}
		if err == nil {
			q.Hour = fromUnix(h)
			st.LastQuarantined = &q
		}
	}
	return st, nil
}

// OldestPending returns the hour of the oldest aggregate without a final
// outcome, or the zero time when there is none. Unlike Status it reads
// only the state index, so the submitter can ask after every pass.
func (s *Store) OldestPending(ctx context.Context) (time.Time, error) {
	var h sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(h) FROM (
		SELECT min(hour) AS h FROM aggregates WHERE state = 'open' AND quarantined = ''
		UNION ALL SELECT min(hour) AS h FROM aggregates WHERE state = 'frozen' AND quarantined = '') AS pending`).Scan(&h)
	if err != nil || !h.Valid {
		return time.Time{}, wrap("oldest pending", err)
	}
	return fromUnix(h.Int64), nil
}

// Heartbeats adds, for every hour from first to last, a frozen
// zero-quantity aggregate for each (product, customer, dimension) that had
// events in the 24 hours before it and has no aggregate in it yet. It
// returns how many it added.
func (s *Store) Heartbeats(ctx context.Context, first, last time.Time) (int, error) {
	n := 0
	err := s.transact(ctx, func(tx *sql.Tx) error {
		for h := meterd.Hour(first); !h.After(last); h = h.Add(time.Hour) {
			// The casts type the parameters of the select list for PostgreSQL.
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO aggregates (product, customer, dimension, hour,
					customer_identifier, customer_aws_account_id, license_arn, events, quantity, tag_keys, tag_sets,
					last_ts, state, timestamp)
				SELECT product, customer, dimension, CAST(?1 AS BIGINT), min(customer_identifier), min(customer_aws_account_id),
					min(license_arn), 0, 0, '[]', 0, CAST(?2 AS BIGINT), 'frozen', CAST(?2 AS BIGINT)
				FROM aggregates WHERE hour >= ?3 AND hour < ?1 AND events > 0
				GROUP BY product, customer, dimension
				ON CONFLICT (product, customer, dimension, hour) DO NOTHING`),
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
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE received_at < ?`), ms(t))
		if err != nil {
			return wrap("prune", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// Reserve reserves the next send time of upstream (an account and region)
// for one request, interval after the one reserved before it and not
// before now, and returns it; the caller waits until then (wall time).
// Relays sharing the store share the rate. A SQLite store has one relay
// (its process lock), so its slots are kept in memory: a durable write
// (an fsync) per upstream request bought nothing but the first slot after a
// restart, which now starts at the restart's now.
func (s *Store) Reserve(ctx context.Context, upstream string, now time.Time, interval time.Duration) (time.Time, error) {
	if !s.postgres {
		s.slotsMu.Lock()
		defer s.slotsMu.Unlock()
		slot := max(s.slots[upstream], now.UnixMicro())
		if s.slots == nil {
			s.slots = map[string]int64{}
		}
		s.slots[upstream] = slot + interval.Microseconds()
		return time.UnixMicro(slot), nil
	}
	var slot int64
	err := s.transact(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO upstream_slots (upstream, next_free)
			VALUES (?1, CAST(?2 AS BIGINT) + CAST(?3 AS BIGINT))
			ON CONFLICT (upstream) DO UPDATE SET next_free =
				CASE WHEN upstream_slots.next_free > ?2 THEN upstream_slots.next_free ELSE ?2 END + ?3
			RETURNING next_free - ?3`), upstream, now.UnixMicro(), interval.Microseconds()).Scan(&slot)
		return wrap("reserve", err)
	})
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(slot), nil
}

// Requeueable outcomes: those a fix on the seller's side (a key, a
// dimension, a subscription) can turn into Success. Success and
// DuplicateRecord are final for AWS too.
var requeueable = []string{OutcomeFailed, OutcomeExpired, OutcomeCustomerNotSubscribed}

// Requeue makes the submitted aggregates of hours in [from, to) whose
// outcome is outcome frozen again and due at once, and returns how many.
// Each is sent again as the identical frozen record (the same quantity,
// allocations and Timestamp), so an upstream that stored it before answers
// the same MeteringRecordId instead of billing it twice. A record that has
// left the upstream's window is Expired again on its next pass.
func (s *Store) Requeue(ctx context.Context, outcome string, from, to time.Time) (int64, error) {
	if !slices.Contains(requeueable, outcome) {
		return 0, fmt.Errorf("relay: requeue: outcome %q cannot be requeued; give one of %s", outcome, strings.Join(requeueable, ", "))
	}
	var n int64
	err := s.transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE aggregates SET state = 'frozen', outcome = '', metering_record_id = '',
			next_attempt = 0, claimed_until = 0, submitted_at = 0
			WHERE state = 'submitted' AND outcome = ? AND hour >= ? AND hour < ?`), outcome, from.Unix(), to.Unix())
		if err != nil {
			return wrap("requeue", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// Reset empties the store: every event, aggregate and rate slot (for
// tests: what was not submitted is lost).
func (s *Store) Reset(ctx context.Context) error {
	s.slotsMu.Lock()
	clear(s.slots)
	s.slotsMu.Unlock()
	return s.transact(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"events", "allocations", "aggregates", "upstream_slots"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				return wrap("reset "+table, err)
			}
		}
		return nil
	})
}
