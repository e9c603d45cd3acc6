package relay

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/meterd/meterd/internal/multirow"
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
		if s.planHints.Load() {
			// Every read of intake looks rows up by their keys: an index
			// is always the plan. PostgreSQL's planner, whose statistics
			// lag a growing events table, scanned the whole table for
			// each 256 ids instead (see tunePlanner).
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return wrap("set enable_seqscan", err)
			}
		}
		in := newIngester(ctx, s, tx)
		if err := in.load(calls); err != nil {
			return err
		}
		next := 0 // index in in.events of the next event
		for n, c := range calls {
			results[n] = make([]Result, len(c.events))
			for i := range c.events {
				if ingestFault != nil {
					if err := ingestFault(&c.events[i]); err != nil {
						return err
					}
				}
				var err error
				if results[n][i], err = in.add(&c.events[i], in.events[next], c.now, c.late); err != nil {
					return err
				}
				next++
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

// chunkSizes are the row counts of Ingest's multi-row statements, largest
// first: n rows go as n/256 statements of 256 rows, then at most three each
// of 64, 16, 4 and 1 (internal/multirow).
var chunkSizes = []int{256, 64, 16, 4, 1}

// ingestStmts are Ingest's statements, prepared once per store: each
// reads or writes many rows, so that a transaction runs a few statements
// per few hundred events, not a few per event. The reads join the keys
// asked for to the table with CROSS JOIN, which makes SQLite look each
// key up in the table's index: given a plain JOIN and a few hundred keys,
// it scans the whole table instead.
type ingestStmts struct {
	seen       *multirow.Stmt // ids: which are stored
	aggs       *multirow.Stmt // keys: the stored aggregates among them
	sets       *multirow.Stmt // keys and tags: the stored allocations among them
	events     *multirow.Stmt // event rows to insert
	upsertAggs *multirow.Stmt // aggregate sums to add
	upsertSets *multirow.Stmt // allocation sums to add
}

// prepareIngest prepares Ingest's statements (after the migrations: they
// name the tables).
func (s *Store) prepareIngest(ctx context.Context) error {
	st := &ingestStmts{}
	for _, p := range []struct {
		stmt            **multirow.Stmt
		head, row, tail string
		perRow          int
	}{
		{&st.seen, `SELECT e.id FROM (VALUES`, `(?)`, `) AS k CROSS JOIN events e WHERE e.id = k.column1`, 1},
		{&st.aggs, `SELECT a.product, a.customer, a.dimension, a.hour,
				a.state, a.quantity, a.tag_keys, a.tag_sets, a.license_arn, a.quarantined
			FROM (VALUES`, `(?, ?, ?, CAST(? AS BIGINT))`, `) AS k
			CROSS JOIN aggregates a WHERE a.product = k.column1 AND a.customer = k.column2 AND a.dimension = k.column3 AND a.hour = k.column4`, 4},
		{&st.sets, `SELECT a.product, a.customer, a.dimension, a.hour, a.tags FROM (VALUES`, `(?, ?, ?, CAST(? AS BIGINT), ?)`, `) AS k
			CROSS JOIN allocations a WHERE a.product = k.column1 AND a.customer = k.column2 AND a.dimension = k.column3 AND a.hour = k.column4
				AND a.tags = k.column5`, 5},
		{&st.events, `INSERT INTO events (id, product, customer, dimension, hour, quantity, tags, timestamp, late, received_at) VALUES`,
			`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, eventColumns},
		{&st.upsertAggs, `INSERT INTO aggregates (product, customer, dimension, hour,
				customer_identifier, customer_aws_account_id, license_arn, events, quantity, tag_keys, tag_sets, last_ts, state)
			VALUES`, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')`, `ON CONFLICT (product, customer, dimension, hour) DO UPDATE SET
				events = aggregates.events + excluded.events, quantity = aggregates.quantity + excluded.quantity,
				tag_keys = excluded.tag_keys, tag_sets = excluded.tag_sets,
				last_ts = CASE WHEN excluded.last_ts > aggregates.last_ts THEN excluded.last_ts ELSE aggregates.last_ts END`, 12},
		{&st.upsertSets, `INSERT INTO allocations (product, customer, dimension, hour, tags, quantity) VALUES`,
			`(?, ?, ?, ?, ?, ?)`, `ON CONFLICT (product, customer, dimension, hour, tags) DO UPDATE SET quantity = allocations.quantity + excluded.quantity`, 6},
	} {
		m, err := multirow.Prepare(ctx, s.db, chunkSizes, p.head, p.row, p.tail, p.perRow, s.q)
		if err != nil {
			st.close()
			return fmt.Errorf("prepare: %w", err)
		}
		*p.stmt = m
	}
	s.ingest = st
	return nil
}

func (st *ingestStmts) close() {
	if st == nil {
		return
	}
	for _, m := range []*multirow.Stmt{st.seen, st.aggs, st.sets, st.events, st.upsertAggs, st.upsertSets} {
		m.Close()
	}
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

// ingester stores the events of one transaction. load reads what the
// events need of the store (which ids are stored, their aggregates and
// allocations) in a few multi-row queries; add decides each event in
// memory; flush writes the events and the aggregate and allocation sums
// with multi-row statements.
type ingester struct {
	ctx      context.Context
	s        *Store
	stmts    *multirow.Tx
	events   []eventKeys       // of each event, in call order
	seen     map[string]bool   // ids stored before or in this transaction
	rows     []any             // event rows to insert, eventColumns values each
	aggs     map[Key]*aggState // read from the store (exists or not) or new
	stored   map[setKey]bool   // allocations looked up: whether stored
	sets     map[setKey]int64  // allocations with events in this transaction: their sums
	order    []Key             // aggregates with events in this transaction
	setOrder []setKey          // allocations with events in this transaction
}

// eventColumns is the number of values of an event row.
const eventColumns = 10

func newIngester(ctx context.Context, s *Store, tx *sql.Tx) *ingester {
	return &ingester{ctx: ctx, s: s, stmts: multirow.NewTx(ctx, tx),
		seen: map[string]bool{}, aggs: map[Key]*aggState{}, stored: map[setKey]bool{}, sets: map[setKey]int64{}}
}

// eventKeys are an event's aggregate (unless it is late) and tag set
// (canonicalTags), worked out once per transaction.
type eventKeys struct {
	key  Key
	tags string
}

// eventKey is the aggregate an event counts in, unless it is late.
func eventKey(e *Event) Key {
	return Key{Product: e.ProductCode, Customer: customerKey(e), Dimension: e.Dimension, Hour: fromUnix(hourOf(e.Timestamp.UTC()))}
}

// load reads what the calls' events need: the stored ids among theirs,
// their aggregates, the current hour's aggregates of those an event would
// be late for, and the stored allocations of their tag sets. add reads
// anything load missed one key at a time, so load only saves queries.
func (in *ingester) load(calls []*ingestCall) error {
	n := 0
	for _, c := range calls {
		n += len(c.events)
	}
	ids := make([]any, 0, n)
	asked := make(map[string]bool, n)
	in.events = make([]eventKeys, 0, n)
	in.rows = make([]any, 0, n*eventColumns)
	for _, c := range calls {
		for i := range c.events {
			e := &c.events[i]
			in.events = append(in.events, eventKeys{eventKey(e), canonicalTags(e.Tags)})
			if !asked[e.ID] {
				asked[e.ID] = true
				ids = append(ids, e.ID)
			}
		}
	}
	err := in.stmts.Query(in.s.ingest.seen, ids, func(rows *sql.Rows) error {
		var id string
		err := rows.Scan(&id)
		in.seen[id] = true
		return err
	})
	if err != nil {
		return wrap("read events", err)
	}
	// Each round reads the keys the previous one showed are needed: an
	// event's own aggregate, then the current hour's for those that are
	// not open, then the allocations of those that are stored.
	for round := range 3 {
		var keys []Key
		var sets []setKey
		next := 0
		for _, c := range calls {
			for i := range c.events {
				e := &c.events[i]
				ek := in.events[next]
				next++
				if in.seen[e.ID] {
					continue
				}
				k := ek.key
				a := in.aggs[k]
				if round > 0 && a.state != StateOpen && c.late != LateRefuse {
					k.Hour = fromUnix(hourOf(c.now))
					a = in.aggs[k]
				}
				switch {
				case a == nil:
					keys = append(keys, k)
					in.aggs[k] = &aggState{key: k, state: StateOpen}
				case round == 2 && a.exists && a.state == StateOpen:
					sk := setKey{k, ek.tags}
					if _, ok := in.stored[sk]; !ok {
						sets = append(sets, sk)
						in.stored[sk] = false
					}
				}
			}
		}
		if err := in.loadAggs(keys); err != nil {
			return err
		}
		if err := in.loadSets(sets); err != nil {
			return err
		}
	}
	return nil
}

// loadAggs reads the stored aggregates of keys, which are in in.aggs as
// new open ones until then.
func (in *ingester) loadAggs(keys []Key) error {
	args := make([]any, 0, 4*len(keys))
	for _, k := range keys {
		args = append(args, keyArgs(k)...)
	}
	err := in.stmts.Query(in.s.ingest.aggs, args, func(rows *sql.Rows) error {
		var k Key
		var hour int64
		var state, keys, quarantined string
		var tagSets int
		var arn sql.NullString
		var quantity any // a row an older relay let overflow holds a REAL
		if err := rows.Scan(&k.Product, &k.Customer, &k.Dimension, &hour, &state, &quantity, &keys, &tagSets, &arn, &quarantined); err != nil {
			return err
		}
		k.Hour = fromUnix(hour)
		a := in.aggs[k]
		if a == nil {
			return nil // not asked for: cannot be, the key columns are compared by equality
		}
		a.exists, a.state, a.tagSets, a.licenseArn, a.quarantined = true, state, tagSets, arn.String, quarantined
		var ok bool
		if a.quantity, ok = recordQuantity(quantity); !ok && a.quarantined == "" {
			a.quarantined = badQuantity(quantity)
		}
		if err := json.Unmarshal([]byte(keys), &a.tagKeys); err != nil && a.quarantined == "" {
			a.quarantined = "tag_keys: " + err.Error()
		}
		return nil
	})
	return wrap("read aggregates", err)
}

// loadSets reads which of the allocations sets are stored, which are in
// in.stored as not stored until then.
func (in *ingester) loadSets(sets []setKey) error {
	args := make([]any, 0, 5*len(sets))
	for _, sk := range sets {
		args = append(append(args, keyArgs(sk.Key)...), sk.tags)
	}
	err := in.stmts.Query(in.s.ingest.sets, args, func(rows *sql.Rows) error {
		var sk setKey
		var hour int64
		if err := rows.Scan(&sk.Product, &sk.Customer, &sk.Dimension, &hour, &sk.tags); err != nil {
			return err
		}
		sk.Hour = fromUnix(hour)
		if _, ok := in.stored[sk]; ok {
			in.stored[sk] = true
		}
		return nil
	})
	return wrap("read allocations", err)
}

// agg returns the state of k, read once per transaction.
func (in *ingester) agg(k Key) (*aggState, error) {
	if a := in.aggs[k]; a != nil {
		return a, nil
	}
	in.aggs[k] = &aggState{key: k, state: StateOpen}
	if err := in.loadAggs([]Key{k}); err != nil {
		return nil, err
	}
	return in.aggs[k], nil
}

// hasSet reports whether the aggregate already has the tag set, stored or
// added in this transaction.
func (in *ingester) hasSet(a *aggState, sk setKey) (bool, error) {
	if _, ok := in.sets[sk]; ok {
		return true, nil
	}
	// Allocations are written with their aggregate, in one transaction,
	// and deleted only with it (Reset): an aggregate not stored has none.
	if !a.exists {
		return false, nil
	}
	if _, ok := in.stored[sk]; !ok {
		in.stored[sk] = false
		if err := in.loadSets([]setKey{sk}); err != nil {
			return false, err
		}
	}
	return in.stored[sk], nil
}

// add stores one event; errors are store failures, refusals are results.
func (in *ingester) add(e *Event, ek eventKeys, now time.Time, late string) (Result, error) {
	res := Result{ID: e.ID, Status: StatusAccepted}
	if in.seen[e.ID] {
		res.Status = StatusDuplicate
		return res, nil
	}
	ts := e.Timestamp.UTC()
	k := ek.key
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
	keys := a.tagKeys
	for tk := range e.Tags {
		if !slices.Contains(keys, tk) {
			// a.tagKeys is replaced below, never changed in place.
			keys = append(slices.Clip(keys), tk)
		}
	}
	if len(keys) > maxTagKeys {
		return reject(res, "tags: the hour's record would have %d distinct tag keys, at most %d", len(keys), maxTagKeys), nil
	}
	slices.Sort(keys)
	// Every tag set is an allocation, the untagged one too.
	sk := setKey{k, ek.tags}
	known, err := in.hasSet(a, sk)
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
	}
	if _, ok := in.sets[sk]; !ok {
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
	if err := in.stmts.Exec(in.s.ingest.events, in.rows); err != nil {
		return wrap("insert events", err)
	}
	args := make([]any, 0, 12*len(in.order))
	for _, k := range in.order {
		a := in.aggs[k]
		keys, _ := json.Marshal(a.tagKeys)
		if a.tagKeys == nil {
			keys = []byte("[]")
		}
		args = append(args, k.Product, k.Customer, k.Dimension, k.Hour.Unix(),
			a.first.CustomerIdentifier, a.first.CustomerAWSAccountID, a.first.LicenseArn,
			a.dEvents, a.dQuantity, string(keys), a.tagSets, a.lastTS)
	}
	if err := in.stmts.Exec(in.s.ingest.upsertAggs, args); err != nil {
		return wrap("upsert aggregates", err)
	}
	args = make([]any, 0, 6*len(in.setOrder))
	for _, sk := range in.setOrder {
		args = append(append(args, keyArgs(sk.Key)...), sk.tags, in.sets[sk])
	}
	if err := in.stmts.Exec(in.s.ingest.upsertSets, args); err != nil {
		return wrap("upsert allocations", err)
	}
	return nil
}

func reject(r Result, format string, args ...any) Result {
	r.Status = StatusRejected
	r.Error = fmt.Sprintf(format, args...)
	r.Late = false
	return r
}
