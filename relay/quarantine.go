package relay

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"time"
)

// recordQuantity converts a stored quantity, as the driver returns it, to
// a record's quantity: ok is false unless it is an integer from 0 to
// maxQuantity. SQLite stores an integer sum that overflowed int64 as a
// REAL, which database/sql cannot scan into an int64; scanning into any
// and converting here lets the relay quarantine the row instead of failing
// every pass that reads it.
func recordQuantity(v any) (q int64, ok bool) {
	switch v := v.(type) {
	case int64:
		q = v
	case float64:
		if v != math.Trunc(v) || v < 0 || v > maxQuantity {
			return 0, false
		}
		q = int64(v)
	case []byte:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, false
		}
		q = n
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		q = n
	default:
		return 0, false
	}
	return q, q >= 0 && q <= maxQuantity
}

// badQuantity is the quarantine reason of an unusable stored quantity.
func badQuantity(v any) string {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	return fmt.Sprintf("its quantity %v is not an integer from 0 to %d", v, maxQuantity)
}

// Quarantined is an aggregate the relay cannot send: Quarantine marked it,
// and freezing, claiming and intake skip it.
type Quarantined struct {
	Key
	Reason string
}

// Quarantine marks the aggregates the next submission pass would read
// (open ones of hours up to lastHour, and frozen ones) whose quantity, or
// one of whose allocations' quantities, is not an integer from 0 to
// 2147483647, and returns them. Such rows come from relays before the
// per-event limit (a sum that overflowed int64 is a REAL in SQLite); they
// cannot be sent as they are, and left in place one would stop every pass,
// for every customer.
func (s *Store) Quarantine(ctx context.Context, lastHour time.Time) ([]Quarantined, error) {
	bad := func(col string) string {
		cond := col + ` < 0 OR ` + col + ` > 2147483647`
		if !s.postgres {
			cond = `typeof(` + col + `) != 'integer' OR ` + cond
		}
		return "(" + cond + ")"
	}
	pending := `quarantined = '' AND (state = 'open' AND hour <= ?1 OR state = 'frozen')`
	var out []Quarantined
	err := s.transact(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		for _, q := range []string{
			`UPDATE aggregates SET quarantined = 'its quantity ' || CAST(quantity AS TEXT) || ' is not an integer from 0 to 2147483647'
				WHERE ` + pending + ` AND ` + bad("quantity") + `
				RETURNING product, customer, dimension, hour, quarantined`,
			`UPDATE aggregates SET quarantined = 'the quantity of its allocation ' || (SELECT coalesce(nullif(a.tags, ''), 'without tags') FROM allocations a
					WHERE a.product = aggregates.product AND a.customer = aggregates.customer AND a.dimension = aggregates.dimension
					AND a.hour = aggregates.hour AND ` + bad("a.quantity") + ` ORDER BY a.tags LIMIT 1) || ' is not an integer from 0 to 2147483647'
				WHERE ` + pending + ` AND EXISTS (SELECT 1 FROM allocations a
					WHERE a.product = aggregates.product AND a.customer = aggregates.customer AND a.dimension = aggregates.dimension
					AND a.hour = aggregates.hour AND ` + bad("a.quantity") + `)
				RETURNING product, customer, dimension, hour, quarantined`,
		} {
			rows, err := tx.QueryContext(ctx, s.q(q), lastHour.Unix())
			if err != nil {
				return wrap("quarantine", err)
			}
			for rows.Next() {
				var r Quarantined
				var h int64
				if err := rows.Scan(&r.Product, &r.Customer, &r.Dimension, &h, &r.Reason); err != nil {
					rows.Close()
					return wrap("quarantine", err)
				}
				r.Hour = fromUnix(h)
				out = append(out, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return wrap("quarantine", err)
			}
		}
		return nil
	})
	return out, err
}
