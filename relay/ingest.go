package relay

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Ingest stores valid events in one transaction and returns one result per
// event, in order. now is the relay clock; late is LateCurrentHour or
// LateRefuse. An event whose id was stored before is a duplicate and
// changes nothing. An event whose key-hour is frozen or submitted is late:
// refused, or moved to the current hour with its timestamp set to now.
// Nothing is acknowledged unless the transaction committed: on error no
// result is returned.
func (s *Store) Ingest(ctx context.Context, events []Event, now time.Time, late string) ([]Result, error) {
	results := make([]Result, len(events))
	err := s.transact(ctx, func(tx *sql.Tx) error {
		for i := range events {
			r, err := ingestOne(ctx, tx, &events[i], now, late)
			if err != nil {
				return err
			}
			results[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// aggState is the part of an aggregate that intake reads.
type aggState struct {
	exists   bool
	state    string
	quantity int64
	tagKeys  []string
	tagSets  int
}

func loadAggState(ctx context.Context, tx *sql.Tx, k Key) (aggState, error) {
	var a aggState
	var keys string
	err := tx.QueryRowContext(ctx, `SELECT state, quantity, tag_keys, tag_sets FROM aggregates
		WHERE product = ? AND customer = ? AND dimension = ? AND hour = ?`, keyArgs(k)...).
		Scan(&a.state, &a.quantity, &keys, &a.tagSets)
	if isNoRows(err) {
		return aggState{state: StateOpen}, nil
	}
	if err != nil {
		return a, wrap("read aggregate", err)
	}
	a.exists = true
	if err := json.Unmarshal([]byte(keys), &a.tagKeys); err != nil {
		return a, wrap("read aggregate tag keys", err)
	}
	return a, nil
}

// ingestOne stores one event; errors are store failures, refusals are
// results.
func ingestOne(ctx context.Context, tx *sql.Tx, e *Event, now time.Time, late string) (Result, error) {
	res := Result{ID: e.ID, Status: StatusAccepted}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM events WHERE id = ?`, e.ID).Scan(&one)
	if err == nil {
		res.Status = StatusDuplicate
		return res, nil
	}
	if !isNoRows(err) {
		return res, wrap("read event", err)
	}
	ts := e.Timestamp.UTC()
	k := Key{Product: e.ProductCode, Customer: e.customerKey(), Dimension: e.Dimension, Hour: fromUnix(hourOf(ts))}
	agg, err := loadAggState(ctx, tx, k)
	if err != nil {
		return res, err
	}
	if agg.state != StateOpen {
		if late == LateRefuse {
			return reject(res, "late: the hour %s of this product, customer and dimension was already submitted", k.Hour.Format(time.RFC3339)), nil
		}
		res.Late = true
		ts = now
		k.Hour = fromUnix(hourOf(now))
		if agg, err = loadAggState(ctx, tx, k); err != nil {
			return res, err
		}
		if agg.state != StateOpen {
			return reject(res, "late: the current hour %s was already submitted too", k.Hour.Format(time.RFC3339)), nil
		}
	}
	if agg.quantity+*e.Quantity > maxQuantity {
		return reject(res, "quantity: the hour's sum would exceed %d, the most a record can carry", maxQuantity), nil
	}
	tags := canonicalTags(e.Tags)
	keys := agg.tagKeys
	for _, tk := range tagKeys(e.Tags) {
		if !slices.Contains(keys, tk) {
			keys = append(keys, tk)
		}
	}
	if len(keys) > maxTagKeys {
		return reject(res, "tags: the hour's record would have %d distinct tag keys, at most %d", len(keys), maxTagKeys), nil
	}
	slices.Sort(keys)
	newSet := 0
	{
		// tag_sets counts the untagged set too: it is an allocation of its own.
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM allocations WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? AND tags = ?`,
			append(keyArgs(k), tags)...).Scan(&one)
		switch {
		case isNoRows(err):
			newSet = 1
		case err != nil:
			return res, wrap("read allocation", err)
		}
		if agg.tagSets+newSet > maxAllocations {
			return reject(res, "tags: the hour's record would have more than %d tag sets", maxAllocations), nil
		}
	}
	keysJSON, _ := json.Marshal(keys)
	if keys == nil {
		keysJSON = []byte("[]")
	}
	lateFlag := 0
	if res.Late {
		lateFlag = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, product, customer, dimension, hour, quantity, tags, timestamp, late, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, k.Product, k.Customer, k.Dimension, k.Hour.Unix(), *e.Quantity, tags, ms(ts), lateFlag, ms(now)); err != nil {
		return res, wrap("insert event", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO aggregates (product, customer, dimension, hour,
			customer_identifier, customer_aws_account_id, license_arn, events, quantity, tag_keys, tag_sets, last_ts, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 'open')
		ON CONFLICT (product, customer, dimension, hour) DO UPDATE SET
			events = events + 1, quantity = quantity + excluded.quantity, tag_keys = excluded.tag_keys,
			tag_sets = excluded.tag_sets, last_ts = max(last_ts, excluded.last_ts)`,
		k.Product, k.Customer, k.Dimension, k.Hour.Unix(), e.CustomerIdentifier, e.CustomerAWSAccountID, e.LicenseArn,
		*e.Quantity, string(keysJSON), agg.tagSets+newSet, ms(ts)); err != nil {
		return res, wrap("upsert aggregate", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO allocations (product, customer, dimension, hour, tags, quantity)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (product, customer, dimension, hour, tags) DO UPDATE SET quantity = quantity + excluded.quantity`,
		append(keyArgs(k), tags, *e.Quantity)...); err != nil {
		return res, wrap("upsert allocation", err)
	}
	return res, nil
}

func reject(r Result, format string, args ...any) Result {
	r.Status = StatusRejected
	r.Error = fmt.Sprintf(format, args...)
	r.Late = false
	return r
}
