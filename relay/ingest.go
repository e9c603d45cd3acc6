package relay

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Ingest stores valid events in one transaction and returns one result per
// event, in order. now is the relay clock; late is LateCurrentHour or
// LateRefuse. An event whose id was stored before is a duplicate and
// changes nothing. An event whose key-hour is frozen or submitted is late:
// refused, or moved to the current hour with its timestamp set to now.
// Nothing is acknowledged unless the transaction committed: on error no
// result is returned.
//
// Concurrent calls share a transaction (group commit): the call that finds
// no commit under way commits every call queued until then in one
// transaction, so one fsync serves them all, and answers each. A call's
// events are handled as if the calls ran one after another, in queue order.
// When the shared transaction fails, each call is retried alone, so one
// call's failure is not the others'.
func (s *Store) Ingest(ctx context.Context, events []Event, now time.Time, late string) ([]Result, error) {
	c := &ingestCall{ctx: ctx, events: events, now: now, late: late, done: make(chan struct{})}
	s.groupMu.Lock()
	s.queued = append(s.queued, c)
	lead := !s.committing
	s.committing = true
	s.groupMu.Unlock()
	if lead {
		s.commitQueued()
	}
	<-c.done
	return c.results, c.err
}

// ingestCall is one Ingest call waiting for its group's commit.
type ingestCall struct {
	ctx     context.Context
	events  []Event
	now     time.Time
	late    string
	results []Result
	err     error
	done    chan struct{} // closed when results or err is set
}

// commitQueued commits the queued calls as one group. Calls queued while it
// commits form the next group, which another goroutine commits, so that the
// committing call is answered without waiting for later ones.
func (s *Store) commitQueued() {
	s.groupMu.Lock()
	group := s.queued
	s.queued = nil
	s.groupMu.Unlock()
	s.ingestGroup(group)
	s.groupMu.Lock()
	more := len(s.queued) > 0
	s.committing = more
	s.groupMu.Unlock()
	if more {
		go s.commitQueued()
	}
}

// ingestGroup stores the events of calls in one transaction, or, if that
// fails, each call in its own, and answers every call.
func (s *Store) ingestGroup(calls []*ingestCall) {
	var live []*ingestCall
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	// The group's transaction runs on no caller's context: one caller
	// going away must not roll back the others' events.
	ctx := context.WithoutCancel(live[0].ctx)
	err := s.ingestCalls(ctx, live)
	if err != nil && len(live) > 1 {
		for _, c := range live {
			c.err = s.ingestCalls(ctx, []*ingestCall{c})
			close(c.done)
		}
		return
	}
	for _, c := range live {
		c.err = err
		close(c.done)
	}
}

// ingestFault, when set by a test, fails the transaction of any group
// holding an event it names: the stand-in for a statement failing.
var ingestFault func(e *Event) error

// ingestCalls stores the events of calls in one transaction and sets each
// call's results; on error it sets none.
func (s *Store) ingestCalls(ctx context.Context, calls []*ingestCall) error {
	results := make([][]Result, len(calls))
	err := s.transact(ctx, func(tx *sql.Tx) error {
		in, err := newIngester(ctx, s, tx)
		if err != nil {
			return err
		}
		defer in.close()
		var all []Event
		for _, c := range calls {
			all = append(all, c.events...)
		}
		if err := in.loadSeen(all); err != nil {
			return err
		}
		for n, c := range calls {
			results[n] = make([]Result, len(c.events))
			for i := range c.events {
				if ingestFault != nil {
					if err := ingestFault(&c.events[i]); err != nil {
						return err
					}
				}
				if results[n][i], err = in.add(&c.events[i], c.now, c.late); err != nil {
					return err
				}
			}
		}
		return in.flush()
	})
	if err != nil {
		return err
	}
	for n, c := range calls {
		c.results = results[n]
	}
	return nil
}

// aggState is an aggregate as intake sees it, with the changes of the
// current transaction not yet written.
type aggState struct {
	key      Key
	exists   bool
	state    string
	quantity int64
	tagKeys  []string
	tagSets  int
	// licenseArn is the record's LicenseArn: the first event's, and every
	// later event of the key-hour must name the same one.
	licenseArn string
	// quarantined is why the stored aggregate cannot take events ("" when
	// it can): its row cannot be read, or Store.Quarantine marked it.
	quarantined string

	// Pending changes, written by flush.
	first                      *Event // customer fields for a new aggregate
	dEvents, dQuantity, lastTS int64
}

// setKey names one tag set of an aggregate.
type setKey struct {
	Key
	tags string
}

// ingester stores the events of one Ingest call: it looks up their ids and
// inserts their rows a few hundred at a time (each statement is a round trip
// to PostgreSQL), and writes the aggregate and allocation sums once per key
// at the end.
type ingester struct {
	ctx                                  context.Context
	s                                    *Store
	tx                                   *sql.Tx
	selAgg, selSet, upsertAgg, upsertSet *sql.Stmt
	seen                                 map[string]bool // ids stored before or in this call
	rows                                 []any           // event rows to insert, eventColumns values each
	aggs                                 map[Key]*aggState
	sets                                 map[setKey]int64 // -1: stored, no change; else pending delta
	order                                []Key
	setOrder                             []setKey
}

// Event rows are inserted, and ids looked up, this many at a time.
const (
	eventColumns = 10
	eventChunk   = 200
)

func newIngester(ctx context.Context, s *Store, tx *sql.Tx) (*ingester, error) {
	in := &ingester{ctx: ctx, s: s, tx: tx, seen: map[string]bool{}, aggs: map[Key]*aggState{}, sets: map[setKey]int64{}}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&in.selAgg, `SELECT state, quantity, tag_keys, tag_sets, license_arn, quarantined FROM aggregates
			WHERE product = ? AND customer = ? AND dimension = ? AND hour = ?`},
		{&in.selSet, `SELECT 1 FROM allocations WHERE product = ? AND customer = ? AND dimension = ? AND hour = ? AND tags = ?`},
		{&in.upsertAgg, `INSERT INTO aggregates (product, customer, dimension, hour,
				customer_identifier, customer_aws_account_id, license_arn, events, quantity, tag_keys, tag_sets, last_ts, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
			ON CONFLICT (product, customer, dimension, hour) DO UPDATE SET
				events = aggregates.events + excluded.events, quantity = aggregates.quantity + excluded.quantity,
				tag_keys = excluded.tag_keys, tag_sets = excluded.tag_sets,
				last_ts = CASE WHEN excluded.last_ts > aggregates.last_ts THEN excluded.last_ts ELSE aggregates.last_ts END`},
		{&in.upsertSet, `INSERT INTO allocations (product, customer, dimension, hour, tags, quantity)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (product, customer, dimension, hour, tags) DO UPDATE SET quantity = allocations.quantity + excluded.quantity`},
	} {
		st, err := tx.PrepareContext(ctx, s.q(p.sql))
		if err != nil {
			in.close()
			return nil, wrap("prepare", err)
		}
		*p.stmt = st
	}
	return in, nil
}

func (in *ingester) close() {
	for _, st := range []*sql.Stmt{in.selAgg, in.selSet, in.upsertAgg, in.upsertSet} {
		if st != nil {
			st.Close()
		}
	}
}

// placeholders returns "(?, ?), (?, ?)" for rows of n columns.
func placeholders(rows, n int) string {
	row := "(" + strings.Repeat("?, ", n-1) + "?)"
	return strings.Repeat(row+", ", rows-1) + row
}

// loadSeen marks the ids of events that are stored already.
func (in *ingester) loadSeen(events []Event) error {
	ids := make([]any, 0, len(events))
	for i := range events {
		ids = append(ids, events[i].ID)
	}
	for len(ids) > 0 {
		chunk := ids[:min(eventChunk, len(ids))]
		ids = ids[len(chunk):]
		rows, err := in.tx.QueryContext(in.ctx, in.s.q(`SELECT id FROM events WHERE id IN `+placeholders(1, len(chunk))), chunk...)
		if err != nil {
			return wrap("read events", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return wrap("read events", err)
			}
			in.seen[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("read events", err)
		}
	}
	return nil
}

// agg returns the state of k, read once per transaction.
func (in *ingester) agg(k Key) (*aggState, error) {
	if a := in.aggs[k]; a != nil {
		return a, nil
	}
	a := &aggState{key: k, state: StateOpen}
	var keys string
	var arn sql.NullString
	var quantity any // a row an older relay let overflow holds a REAL
	err := in.selAgg.QueryRowContext(in.ctx, keyArgs(k)...).Scan(&a.state, &quantity, &keys, &a.tagSets, &arn, &a.quarantined)
	a.licenseArn = arn.String
	switch {
	case isNoRows(err):
	case err != nil:
		return nil, wrap("read aggregate", err)
	default:
		a.exists = true
		var ok bool
		if a.quantity, ok = recordQuantity(quantity); !ok && a.quarantined == "" {
			a.quarantined = badQuantity(quantity)
		}
		if err := json.Unmarshal([]byte(keys), &a.tagKeys); err != nil && a.quarantined == "" {
			a.quarantined = "tag_keys: " + err.Error()
		}
	}
	in.aggs[k] = a
	return a, nil
}

// hasSet reports whether the aggregate already has the tag set.
func (in *ingester) hasSet(sk setKey) (bool, error) {
	if _, ok := in.sets[sk]; ok {
		return true, nil
	}
	var one int
	err := in.selSet.QueryRowContext(in.ctx, append(keyArgs(sk.Key), sk.tags)...).Scan(&one)
	switch {
	case isNoRows(err):
		return false, nil
	case err != nil:
		return false, wrap("read allocation", err)
	}
	in.sets[sk] = 0
	in.setOrder = append(in.setOrder, sk)
	return true, nil
}

// add stores one event; errors are store failures, refusals are results.
func (in *ingester) add(e *Event, now time.Time, late string) (Result, error) {
	res := Result{ID: e.ID, Status: StatusAccepted}
	if in.seen[e.ID] {
		res.Status = StatusDuplicate
		return res, nil
	}
	ts := e.Timestamp.UTC()
	k := Key{Product: e.ProductCode, Customer: customerKey(e), Dimension: e.Dimension, Hour: fromUnix(hourOf(ts))}
	a, err := in.agg(k)
	if err != nil {
		return res, err
	}
	if a.state != StateOpen {
		if late == LateRefuse {
			return reject(res, "late: the hour %s of this product, customer and dimension was already submitted", k.Hour.Format(time.RFC3339)), nil
		}
		res.Late = true
		ts = now
		k.Hour = fromUnix(hourOf(now))
		if a, err = in.agg(k); err != nil {
			return res, err
		}
		if a.state != StateOpen {
			return reject(res, "late: the current hour %s was already submitted too", k.Hour.Format(time.RFC3339)), nil
		}
	}
	// One record carries one LicenseArn, and AWS keeps one record per
	// customer, dimension and hour: usage under two licenses in the same
	// key-hour cannot both be metered, so the second is refused, not merged.
	if (a.exists || a.first != nil) && e.LicenseArn != a.licenseArn {
		return reject(res, "license_arn: this customer, dimension and hour already has usage under license_arn %q; one hour's record carries one license", a.licenseArn), nil
	}
	if a.quarantined != "" {
		return reject(res, "this customer, dimension and hour's record is quarantined (%s): see meterd relay status", a.quarantined), nil
	}
	// validate bounds each quantity by maxQuantity, and a stored sum is
	// never above it: the subtraction cannot overflow, as a sum could.
	if *e.Quantity > maxQuantity-a.quantity {
		return reject(res, "quantity: the hour's sum would exceed %d, the most a record can carry", maxQuantity), nil
	}
	keys := slices.Clone(a.tagKeys)
	for _, tk := range tagKeys(e.Tags) {
		if !slices.Contains(keys, tk) {
			keys = append(keys, tk)
		}
	}
	if len(keys) > maxTagKeys {
		return reject(res, "tags: the hour's record would have %d distinct tag keys, at most %d", len(keys), maxTagKeys), nil
	}
	slices.Sort(keys)
	// Every tag set is an allocation, the untagged one too.
	sk := setKey{k, canonicalTags(e.Tags)}
	known, err := in.hasSet(sk)
	if err != nil {
		return res, err
	}
	if !known && a.tagSets+1 > maxAllocations {
		return reject(res, "tags: the hour's record would have more than %d tag sets", maxAllocations), nil
	}
	lateFlag := 0
	if res.Late {
		lateFlag = 1
	}
	in.seen[e.ID] = true
	in.rows = append(in.rows, e.ID, k.Product, k.Customer, k.Dimension, k.Hour.Unix(), *e.Quantity, sk.tags, ms(ts), lateFlag, ms(now))
	if a.first == nil {
		a.first = e
		a.licenseArn = e.LicenseArn
		in.order = append(in.order, k)
	}
	a.tagKeys = keys
	if !known {
		a.tagSets++
		in.sets[sk] = 0
		in.setOrder = append(in.setOrder, sk)
	}
	in.sets[sk] += *e.Quantity
	a.quantity += *e.Quantity
	a.dEvents++
	a.dQuantity += *e.Quantity
	a.lastTS = max(a.lastTS, ms(ts))
	return res, nil
}

// flush writes the transaction's events and their sums.
func (in *ingester) flush() error {
	for rows := in.rows; len(rows) > 0; {
		chunk := rows[:min(eventChunk*eventColumns, len(rows))]
		rows = rows[len(chunk):]
		if _, err := in.tx.ExecContext(in.ctx, in.s.q(`INSERT INTO events
			(id, product, customer, dimension, hour, quantity, tags, timestamp, late, received_at)
			VALUES `+placeholders(len(chunk)/eventColumns, eventColumns)), chunk...); err != nil {
			return wrap("insert events", err)
		}
	}
	for _, k := range in.order {
		a := in.aggs[k]
		keys, _ := json.Marshal(a.tagKeys)
		if a.tagKeys == nil {
			keys = []byte("[]")
		}
		if _, err := in.upsertAgg.ExecContext(in.ctx, k.Product, k.Customer, k.Dimension, k.Hour.Unix(),
			a.first.CustomerIdentifier, a.first.CustomerAWSAccountID, a.first.LicenseArn,
			a.dEvents, a.dQuantity, string(keys), a.tagSets, a.lastTS); err != nil {
			return wrap("upsert aggregate", err)
		}
	}
	for _, sk := range in.setOrder {
		if q := in.sets[sk]; q != 0 || in.aggs[sk.Key].first != nil {
			if _, err := in.upsertSet.ExecContext(in.ctx, append(keyArgs(sk.Key), sk.tags, q)...); err != nil {
				return wrap("upsert allocation", err)
			}
		}
	}
	return nil
}

func reject(r Result, format string, args ...any) Result {
	r.Status = StatusRejected
	r.Error = fmt.Sprintf(format, args...)
	r.Late = false
	return r
}
