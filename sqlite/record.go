package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/multirow"
)

// Statements of the commit path, prepared once on the write connection and
// bound to each transaction with Tx.StmtContext, which reuses them.
var recordQueries = struct {
	tokenGet, tokenPut, insert, existing, tag string
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
}

// Multi-row statements (internal/multirow): head, one row's placeholders, tail.
// The records' INSERT returns the rows it stored; one that hit the
// duplicate key is left out. The rollups' upserts are the roller's
// (roll.go); the commit path writes only the records, their key and tags.
var multiQueries = [...]struct{ head, row, tail string }{
	multiInsert: {`INSERT INTO metering_records (id, operation, product_code, customer_identifier, customer_aws_account_id,
			license_arn, resource, dimension, hour, timestamp_ms, quantity, allocations, caller_account_id,
			caller_access_key_id, client_token, request_hash, received_at_ms)`,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, hour, dimension, resource) DO NOTHING RETURNING id, seq`},
	rollupHourly: {`INSERT INTO usage_hourly (product_code, hour, customer_identifier, dimension, quantity, records)`, `(?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, hour, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`},
	rollupDimensionHourly: {`INSERT INTO usage_dimension_hourly (product_code, dimension, hour, quantity, records, first_seq, last_seq)`, `(?, ?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, dimension, hour) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records,
			first_seq = coalesce(min(first_seq, excluded.first_seq), excluded.first_seq),
			last_seq = coalesce(max(last_seq, excluded.last_seq), excluded.last_seq)`},
	rollupCustomerDaily: {`INSERT INTO usage_customer_daily (product_code, customer_identifier, dimension, day, quantity, records)`, `(?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, day, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`},
	rollupCustomerMonthly: {`INSERT INTO usage_customer_monthly (product_code, customer_identifier, dimension, month, quantity, records)`, `(?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, month, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`},
}

// Indexes of multiQueries; the rollups come first.
const (
	rollupHourly = iota
	rollupDimensionHourly
	rollupCustomerDaily
	rollupCustomerMonthly
	multiInsert
	numRollups = multiInsert
)

// recordStmts are the prepared statements of recordQueries and
// multiQueries.
type recordStmts struct {
	tokenGet, tokenPut, insert, existing, tag *sql.Stmt
	multi                                     [len(multiQueries)]*multirow.Stmt
}

func prepareRecordStmts(ctx context.Context, db *sql.DB) (*recordStmts, error) {
	var st recordStmts
	p := preparer{ctx: ctx, db: db}
	q := recordQueries
	st.tokenGet, st.tokenPut, st.insert = p.prep(q.tokenGet), p.prep(q.tokenPut), p.prep(q.insert)
	st.existing, st.tag = p.prep(q.existing), p.prep(q.tag)
	for i, m := range multiQueries {
		if p.err == nil {
			st.multi[i], p.err = multirow.Prepare(ctx, db, chunkSizes, m.head+" VALUES", m.row, m.tail, strings.Count(m.row, "?"), nil)
		}
	}
	if p.err != nil {
		st.close()
		return nil, p.err
	}
	return &st, nil
}

func (st *recordStmts) close() {
	closeStmts(st.tokenGet, st.tokenPut, st.insert, st.existing, st.tag)
	for _, m := range st.multi {
		m.Close()
	}
}

// pendingRecord is a record waiting for the next multi-row INSERT, with
// where its result goes.
type pendingRecord struct {
	r      *meterd.MeteringRecord
	allocs string // meterd.CanonicalAllocations(r.Allocations)
	result *meterd.CommitResult
}

// recordWriter applies the rules of Ledger.Commit inside a write
// transaction. Records without a ClientToken wait in pending and are
// inserted 64 at a time; a record with one is stored at once, after the
// pending ones, so every record sees the ones before it as Commit's
// sequential rules say.
type recordWriter struct {
	ctx context.Context
	st  *recordStmts // on the database
	tx  *multirow.Tx // binds st's statements to the transaction when first used

	pending    []pendingRecord
	pendingIDs map[string]bool
	args       []any // reused for each multi-row statement
	lastSeq    int64 // the highest seq stored so far
}

func newRecordWriter(ctx context.Context, tx *sql.Tx, st *recordStmts) *recordWriter {
	return &recordWriter{ctx: ctx, st: st, tx: multirow.NewTx(ctx, tx), pendingIDs: map[string]bool{}}
}

// stmt returns s bound to the writer's transaction (a commit of one
// MeterUsage record uses 5 of the 25 statements).
func (w *recordWriter) stmt(s *sql.Stmt) *sql.Stmt { return w.tx.Stmt(s) }

// put stores r unless its ClientToken or key is taken, and sets *result;
// for a record without a ClientToken that may happen as late as flush.
func (w *recordWriter) put(r *meterd.MeteringRecord, result *meterd.CommitResult) error {
	if r.ClientToken != "" || w.pendingIDs[r.ID] {
		if err := w.insertPending(); err != nil {
			return err
		}
	}
	if r.ClientToken != "" {
		res, err := w.putOne(r)
		*result = res
		return err
	}
	w.pending = append(w.pending, pendingRecord{r, meterd.CanonicalAllocations(r.Allocations), result})
	w.pendingIDs[r.ID] = true
	if len(w.pending) == chunkSizes[0] {
		return w.insertPending()
	}
	return nil
}

// insertPending inserts the pending records with multi-row statements and
// sets their results: Committed for those stored, and for the others
// (their key was taken, maybe by an earlier pending record) Committed with
// the stored id or Duplicate.
func (w *recordWriter) insertPending() error {
	if len(w.pending) == 0 {
		return nil
	}
	args := w.args[:0]
	for _, p := range w.pending {
		r := p.r
		args = append(args, r.ID, r.Operation, r.ProductCode, r.CustomerIdentifier, r.CustomerAWSAccountID,
			r.LicenseArn, r.Resource, r.Dimension, r.Hour.Unix(), ms(r.Timestamp), r.Quantity, p.allocs, r.CallerAccountID,
			r.CallerAccessKeyID, r.ClientToken, r.RequestHash, ms(r.ReceivedAt))
	}
	w.args = args
	stored := make(map[string]int64, len(w.pending))
	err := w.tx.Query(w.st.multi[multiInsert], args, func(rows *sql.Rows) error {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return err
		}
		stored[id] = seq
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range w.pending {
		r := p.r
		if seq, ok := stored[r.ID]; ok {
			if err := w.index(r, seq); err != nil {
				return err
			}
			*p.result = meterd.CommitResult{Status: meterd.Committed, ID: r.ID}
			continue
		}
		var id string
		var quantity int64
		var storedAllocs string
		if err := w.stmt(w.st.existing).QueryRowContext(w.ctx, r.ProductCode, r.Resource, r.Dimension, r.Hour.Unix()).Scan(&id, &quantity, &storedAllocs); err != nil {
			return err
		}
		*p.result = meterd.CommitResult{Status: meterd.Committed, ID: id}
		if quantity != r.Quantity || storedAllocs != p.allocs {
			*p.result = meterd.CommitResult{Status: meterd.Duplicate}
		}
	}
	clear(w.pending)
	w.pending = w.pending[:0]
	clear(w.pendingIDs)
	return nil
}

// flush stores the pending records; it must run before the transaction
// commits.
func (w *recordWriter) flush() error {
	return w.insertPending()
}

// putOne stores a record with a ClientToken unless its token or key is
// taken, and returns its result.
func (w *recordWriter) putOne(r *meterd.MeteringRecord) (meterd.CommitResult, error) {
	ctx := w.ctx
	var hash, id string
	err := w.stmt(w.st.tokenGet).QueryRowContext(ctx, r.CallerAccountID, r.ClientToken).Scan(&hash, &id)
	switch {
	case err == nil && hash == r.RequestHash:
		return meterd.CommitResult{Status: meterd.Committed, ID: id}, nil
	case err == nil:
		return meterd.CommitResult{Status: meterd.IdempotencyConflict}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return meterd.CommitResult{}, err
	}
	allocs := meterd.CanonicalAllocations(r.Allocations)
	hour := r.Hour.Unix()
	res, err := w.stmt(w.st.insert).ExecContext(ctx, r.ID, r.Operation, r.ProductCode, r.CustomerIdentifier, r.CustomerAWSAccountID,
		r.LicenseArn, r.Resource, r.Dimension, hour, ms(r.Timestamp), r.Quantity, allocs, r.CallerAccountID,
		r.CallerAccessKeyID, r.ClientToken, r.RequestHash, ms(r.ReceivedAt))
	if err != nil {
		return meterd.CommitResult{}, err
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return meterd.CommitResult{}, err
	}
	id = r.ID
	if inserted == 1 {
		seq, err := res.LastInsertId()
		if err != nil {
			return meterd.CommitResult{}, err
		}
		if err := w.index(r, seq); err != nil {
			return meterd.CommitResult{}, err
		}
	} else {
		var quantity int64
		var storedAllocs string
		if err := w.stmt(w.st.existing).QueryRowContext(ctx, r.ProductCode, r.Resource, r.Dimension, hour).Scan(&id, &quantity, &storedAllocs); err != nil {
			return meterd.CommitResult{}, err
		}
		if quantity != r.Quantity || storedAllocs != allocs {
			return meterd.CommitResult{Status: meterd.Duplicate}, nil
		}
	}
	if _, err := w.stmt(w.st.tokenPut).ExecContext(ctx, r.CallerAccountID, r.ClientToken, r.RequestHash, id, ms(r.ReceivedAt)); err != nil {
		return meterd.CommitResult{}, err
	}
	return meterd.CommitResult{Status: meterd.Committed, ID: id}, nil
}

// index adds a new record's tags to usage_tags. The rollups follow the
// records behind a watermark (roll.go), off the commit path.
func (w *recordWriter) index(r *meterd.MeteringRecord, seq int64) error {
	w.lastSeq = max(w.lastSeq, seq)
	if len(r.Allocations) == 0 {
		return nil
	}
	for _, t := range meterd.RecordTags(r) {
		if _, err := w.stmt(w.st.tag).ExecContext(w.ctx, seq, t.Key, t.Value, t.Quantity); err != nil {
			return err
		}
	}
	return nil
}
