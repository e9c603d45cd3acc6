package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/meterd/meterd"
)

// Statements of the commit path, prepared once on the write connection and
// bound to each transaction with Tx.StmtContext, which reuses them.
var recordQueries = struct {
	tokenGet, tokenPut, insert, existing, tag, hourly, dimHourly, custDaily, custMonthly string
}{
	tokenGet: `SELECT request_hash, record_id FROM client_tokens WHERE caller_account_id = ? AND client_token = ?`,
	tokenPut: `INSERT INTO client_tokens (caller_account_id, client_token, request_hash, record_id, created_at_ms)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	insert: `INSERT INTO metering_records (id, operation, product_code, customer_identifier, customer_aws_account_id,
			license_arn, resource, dimension, hour, timestamp_ms, quantity, allocations, caller_account_id,
			caller_access_key_id, client_token, request_hash, received_at_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_code, hour, dimension, resource) DO NOTHING`,
	existing: `SELECT id, quantity, allocations FROM metering_records
		WHERE product_code = ? AND resource = ? AND dimension = ? AND hour = ?`,
	tag: `INSERT INTO usage_tags (seq, key, value, quantity) VALUES (?, ?, ?, ?)`,
	hourly: `INSERT INTO usage_hourly (product_code, hour, customer_identifier, dimension, quantity, records)
		VALUES (?, ?, ?, ?, ?, 1)
		ON CONFLICT (product_code, hour, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + 1`,
	dimHourly: `INSERT INTO usage_dimension_hourly (product_code, dimension, hour, quantity, records)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (product_code, dimension, hour) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`,
	custDaily: `INSERT INTO usage_customer_daily (product_code, customer_identifier, dimension, day, quantity, records)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_code, day, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`,
	custMonthly: `INSERT INTO usage_customer_monthly (product_code, customer_identifier, dimension, month, quantity, records)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_code, month, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`,
}

// recordStmts are the prepared statements of recordQueries.
type recordStmts struct {
	tokenGet, tokenPut, insert, existing, tag, hourly, dimHourly, custDaily, custMonthly *sql.Stmt
}

func prepareRecordStmts(ctx context.Context, db *sql.DB) (*recordStmts, error) {
	var st recordStmts
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = db.PrepareContext(ctx, q)
		return s
	}
	q := recordQueries
	st.tokenGet, st.tokenPut, st.insert = prep(q.tokenGet), prep(q.tokenPut), prep(q.insert)
	st.existing, st.tag, st.hourly = prep(q.existing), prep(q.tag), prep(q.hourly)
	st.dimHourly, st.custDaily, st.custMonthly = prep(q.dimHourly), prep(q.custDaily), prep(q.custMonthly)
	if err != nil {
		st.close()
		return nil, err
	}
	return &st, nil
}

func (st *recordStmts) close() {
	for _, s := range []*sql.Stmt{st.tokenGet, st.tokenPut, st.insert, st.existing, st.tag, st.hourly, st.dimHourly, st.custDaily, st.custMonthly} {
		if s != nil {
			s.Close()
		}
	}
}

// recordWriter applies the rules of Ledger.Commit to one record at a time
// inside a write transaction.
type recordWriter struct {
	ctx context.Context
	now int64 // unix ms, for client_tokens.created_at_ms
	st  recordStmts

	// dimSums are the new records' sums per usage_dimension_hourly row,
	// written once per row by flush: a group commit's records mostly share
	// a few (product, dimension, hour), so this saves an upsert per record.
	dimSums  map[dimensionHour]rollupSum
	dimOrder []dimensionHour
	// custSums are the same for usage_customer_daily, and monthSums for
	// usage_customer_monthly.
	custSums   map[customerDay]rollupSum
	custOrder  []customerDay
	monthSums  map[customerDay]rollupSum
	monthOrder []customerDay
}

// dimensionHour is the key of a usage_dimension_hourly row.
type dimensionHour struct {
	product, dimension string
	hour               int64
}

// customerDay is the key of a usage_customer_daily row (day: the day's
// start) or of a usage_customer_monthly row (day: the month's start).
type customerDay struct {
	product, customer, dimension string
	day                          int64
}

// rollupSum is what a commit adds to one rollup row.
type rollupSum struct{ quantity, records int64 }

func newRecordWriter(ctx context.Context, tx *sql.Tx, st *recordStmts, now time.Time) *recordWriter {
	return &recordWriter{ctx: ctx, now: ms(now), st: recordStmts{
		tokenGet:    tx.StmtContext(ctx, st.tokenGet),
		tokenPut:    tx.StmtContext(ctx, st.tokenPut),
		insert:      tx.StmtContext(ctx, st.insert),
		existing:    tx.StmtContext(ctx, st.existing),
		tag:         tx.StmtContext(ctx, st.tag),
		hourly:      tx.StmtContext(ctx, st.hourly),
		dimHourly:   tx.StmtContext(ctx, st.dimHourly),
		custDaily:   tx.StmtContext(ctx, st.custDaily),
		custMonthly: tx.StmtContext(ctx, st.custMonthly),
	}, dimSums: map[dimensionHour]rollupSum{}, custSums: map[customerDay]rollupSum{}, monthSums: map[customerDay]rollupSum{}}
}

// flush adds the sums of the records put so far to usage_dimension_hourly,
// usage_customer_daily and usage_customer_monthly; it must run before the
// transaction commits.
func (w *recordWriter) flush() error {
	for _, k := range w.dimOrder {
		d := w.dimSums[k]
		if _, err := w.st.dimHourly.ExecContext(w.ctx, k.product, k.dimension, k.hour, d.quantity, d.records); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		stmt  *sql.Stmt
		sums  map[customerDay]rollupSum
		order []customerDay
	}{{w.st.custDaily, w.custSums, w.custOrder}, {w.st.custMonthly, w.monthSums, w.monthOrder}} {
		for _, k := range r.order {
			d := r.sums[k]
			if _, err := r.stmt.ExecContext(w.ctx, k.product, k.customer, k.dimension, k.day, d.quantity, d.records); err != nil {
				return err
			}
		}
	}
	clear(w.dimSums)
	w.dimOrder = w.dimOrder[:0]
	clear(w.custSums)
	w.custOrder = w.custOrder[:0]
	clear(w.monthSums)
	w.monthOrder = w.monthOrder[:0]
	return nil
}

// put stores r unless its ClientToken or key is taken, and returns its
// result.
func (w *recordWriter) put(r *meterd.MeteringRecord) (meterd.CommitResult, error) {
	ctx := w.ctx
	if r.ClientToken != "" {
		var hash, id string
		err := w.st.tokenGet.QueryRowContext(ctx, r.CallerAccountID, r.ClientToken).Scan(&hash, &id)
		switch {
		case err == nil && hash == r.RequestHash:
			return meterd.CommitResult{Status: meterd.Committed, ID: id}, nil
		case err == nil:
			return meterd.CommitResult{Status: meterd.IdempotencyConflict}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return meterd.CommitResult{}, err
		}
	}
	allocs := meterd.CanonicalAllocations(r.Allocations)
	hour := r.Hour.Unix()
	res, err := w.st.insert.ExecContext(ctx, r.ID, r.Operation, r.ProductCode, r.CustomerIdentifier, r.CustomerAWSAccountID,
		r.LicenseArn, r.Resource, r.Dimension, hour, ms(r.Timestamp), r.Quantity, allocs, r.CallerAccountID,
		r.CallerAccessKeyID, r.ClientToken, r.RequestHash, ms(r.ReceivedAt))
	if err != nil {
		return meterd.CommitResult{}, err
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return meterd.CommitResult{}, err
	}
	id := r.ID
	if inserted == 1 {
		seq, err := res.LastInsertId()
		if err != nil {
			return meterd.CommitResult{}, err
		}
		if err := w.index(r, seq, hour); err != nil {
			return meterd.CommitResult{}, err
		}
	} else {
		var quantity int64
		var storedAllocs string
		if err := w.st.existing.QueryRowContext(ctx, r.ProductCode, r.Resource, r.Dimension, hour).Scan(&id, &quantity, &storedAllocs); err != nil {
			return meterd.CommitResult{}, err
		}
		if quantity != r.Quantity || storedAllocs != allocs {
			return meterd.CommitResult{Status: meterd.Duplicate}, nil
		}
	}
	if r.ClientToken != "" {
		if _, err := w.st.tokenPut.ExecContext(ctx, r.CallerAccountID, r.ClientToken, r.RequestHash, id, w.now); err != nil {
			return meterd.CommitResult{}, err
		}
	}
	return meterd.CommitResult{Status: meterd.Committed, ID: id}, nil
}

// index adds a new record to usage_tags and usage_hourly, and to the sums
// that flush writes to the other rollups.
func (w *recordWriter) index(r *meterd.MeteringRecord, seq, hour int64) error {
	if len(r.Allocations) > 0 {
		// One row per tag key=value: two allocations of a record may share a
		// tag (team=a with env=x, team=a with env=y).
		sums := map[meterd.Tag]int64{}
		var order []meterd.Tag
		for _, a := range r.Allocations {
			var q int64
			if a.AllocatedUsageQuantity != nil {
				q = *a.AllocatedUsageQuantity
			}
			for _, t := range a.Tags {
				if _, ok := sums[t]; !ok {
					order = append(order, t)
				}
				sums[t] += q
			}
		}
		for _, t := range order {
			if _, err := w.st.tag.ExecContext(w.ctx, seq, t.Key, t.Value, sums[t]); err != nil {
				return err
			}
		}
	}
	hour -= hour % 3600
	if _, err := w.st.hourly.ExecContext(w.ctx, r.ProductCode, hour, r.CustomerIdentifier, r.Dimension, r.Quantity); err != nil {
		return err
	}
	k := dimensionHour{r.ProductCode, r.Dimension, hour}
	d, ok := w.dimSums[k]
	if !ok {
		w.dimOrder = append(w.dimOrder, k)
	}
	w.dimSums[k] = rollupSum{d.quantity + r.Quantity, d.records + 1}
	c := customerDay{r.ProductCode, r.CustomerIdentifier, r.Dimension, dayStart(hour)}
	w.custOrder = addSum(w.custSums, w.custOrder, c, r.Quantity)
	c.day = monthStart(hour)
	w.monthOrder = addSum(w.monthSums, w.monthOrder, c, r.Quantity)
	return nil
}

// addSum adds a record of quantity q to sums[k], appending k to order when
// it is new, and returns order.
func addSum(sums map[customerDay]rollupSum, order []customerDay, k customerDay, q int64) []customerDay {
	s, ok := sums[k]
	if !ok {
		order = append(order, k)
	}
	sums[k] = rollupSum{s.quantity + q, s.records + 1}
	return order
}
