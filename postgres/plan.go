package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meterd/meterd"
)

// recordKey is the duplicate key of a metering record.
type recordKey struct {
	product, resource, dimension string
	hour                         int64 // unix milliseconds
}

func keyOf(r *meterd.MeteringRecord) recordKey {
	return recordKey{r.ProductCode, r.Resource, r.Dimension, ms(r.Hour).UnixMilli()}
}

// storedUsage is what the duplicate rule compares of a stored record.
type storedUsage struct {
	id          string
	quantity    int64
	allocations string // canonical
}

// tokenKey is a ClientToken in the scope of its caller account.
type tokenKey struct{ account, token string }

type storedToken struct{ requestHash, recordID string }

type hourlyKey struct {
	product, customer, dimension string
	hour                         int64 // unix seconds of the hour
}

// hourlySum is what a roll adds to (or a purge takes out of) a rollup row:
// firstSeq and lastSeq are the seqs of the first and last record a roll
// added, which usage_dimension_hourly keeps as bounds (migration 0062); 0
// when none was added.
type hourlySum struct{ quantity, records, firstSeq, lastSeq int64 }

// commitPlan is one commit transaction: the rows already stored that the
// requests touch, then the rows to write.
type commitPlan struct {
	next   int64 // ledger_sequence.next when the transaction locked it
	keys   map[recordKey]storedUsage
	tokens map[tokenKey]storedToken

	inserts   []*meterd.MeteringRecord
	seqs      []int64  // seq of inserts: next, next+1, ...
	allocs    []string // canonical allocations of inserts
	newTokens []*meterd.MeteringRecord
	tokenIDs  []string // the record id each new token answers with
}

// queueReadExisting queues on b, which begins the commit transaction, the
// reads of the stored records and client tokens that reqs may collide
// with, then the lock of ledger_sequence's row; the returned plan holds
// what they read once b's results are closed. One round trip, BEGIN
// included. The row lock, held until the transaction ends, makes commit
// transactions of every process take seqs one after another, so seq grows
// in commit order and a usage cursor never skips a record committed later;
// readers do not wait for it. It is the first lock a commit takes (the
// reads before it take none), so commits cannot deadlock on the rows they
// write afterwards. The unique key, not the lock, is what keeps two
// processes from both storing a key (see write).
func queueReadExisting(b *pgx.Batch, reqs []*commitRequest, planHints bool) *commitPlan {
	p := &commitPlan{keys: map[recordKey]storedUsage{}, tokens: map[tokenKey]storedToken{}}
	var products, resources, dimensions, accounts, tokens []string
	var hours []time.Time
	for _, req := range reqs {
		for _, r := range req.records {
			products, resources, dimensions = append(products, r.ProductCode), append(resources, r.Resource), append(dimensions, r.Dimension)
			hours = append(hours, ms(r.Hour))
			if r.ClientToken != "" {
				accounts, tokens = append(accounts, r.CallerAccountID), append(tokens, r.ClientToken)
			}
		}
	}
	// The lookups probe the unique key once per key (a LATERAL ... LIMIT 1
	// cannot become a hash join), on PostgreSQL each planned for its arrays
	// (plan_cache_mode force_custom_plan for these two statements, when
	// planHints), not a cached generic plan. As a join, PostgreSQL hashed all of
	// metering_records for each commit: with random_page_cost 4 it costs
	// 400 index probes above a sequential scan of tens of thousands of rows
	// (89 ms for 400 keys on 33,650 rows, against 3.9 ms probing), and a
	// generic plan made while the table was small kept that scan for good.
	if planHints {
		b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	}
	b.Queue(`SELECT m.product_code, m.resource, m.dimension, m.hour, m.id, m.quantity, m.allocations
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS k(product_code, resource, dimension, hour),
		LATERAL (SELECT * FROM metering_records m WHERE m.product_code = k.product_code AND m.resource = k.resource
			AND m.dimension = k.dimension AND m.hour = k.hour LIMIT 1) m`,
		products, resources, dimensions, hours).Query(func(rows pgx.Rows) error {
		var k recordKey
		var hour time.Time
		var u storedUsage
		_, err := pgx.ForEachRow(rows, []any{&k.product, &k.resource, &k.dimension, &hour, &u.id, &u.quantity, &u.allocations}, func() error {
			k.hour = hour.UnixMilli()
			p.keys[k] = u
			return nil
		})
		return err
	})
	if len(tokens) > 0 {
		b.Queue(`SELECT c.caller_account_id, c.client_token, c.request_hash, c.record_id
			FROM unnest($1::text[], $2::text[]) AS k(caller_account_id, client_token),
			LATERAL (SELECT * FROM client_tokens c WHERE c.caller_account_id = k.caller_account_id
				AND c.client_token = k.client_token LIMIT 1) c`,
			accounts, tokens).Query(func(rows pgx.Rows) error {
			var k tokenKey
			var t storedToken
			_, err := pgx.ForEachRow(rows, []any{&k.account, &k.token, &t.requestHash, &t.recordID}, func() error {
				p.tokens[k] = t
				return nil
			})
			return err
		})
	}
	if planHints {
		b.Queue("SET LOCAL plan_cache_mode = DEFAULT") // back to the connection's setting
	}
	b.Queue("SELECT next FROM ledger_sequence WHERE id = 1 FOR UPDATE").QueryRow(func(row pgx.Row) error {
		return row.Scan(&p.next)
	})
	return p
}

// plan applies the rules of meterd.Ledger.Commit to every record in order,
// against the stored rows and the records planned before it, and sets each
// request's results.
func (p *commitPlan) plan(reqs []*commitRequest) {
	for _, req := range reqs {
		req.results = make([]meterd.CommitResult, len(req.records))
		for i, r := range req.records {
			req.results[i] = p.planRecord(r)
		}
	}
}

func (p *commitPlan) planRecord(r *meterd.MeteringRecord) meterd.CommitResult {
	tk := tokenKey{r.CallerAccountID, r.ClientToken}
	if r.ClientToken != "" {
		if t, ok := p.tokens[tk]; ok {
			if t.requestHash == r.RequestHash {
				return meterd.CommitResult{Status: meterd.Committed, ID: t.recordID}
			}
			return meterd.CommitResult{Status: meterd.IdempotencyConflict}
		}
	}
	k := keyOf(r)
	allocs := meterd.CanonicalAllocations(r.Allocations)
	id := r.ID
	if u, ok := p.keys[k]; ok {
		if u.quantity != r.Quantity || u.allocations != allocs {
			return meterd.CommitResult{Status: meterd.Duplicate}
		}
		id = u.id
	} else {
		p.keys[k] = storedUsage{r.ID, r.Quantity, allocs}
		p.seqs = append(p.seqs, p.next+int64(len(p.inserts)))
		p.inserts = append(p.inserts, r)
		p.allocs = append(p.allocs, allocs)
	}
	// A token is kept only for a record that was committed.
	if r.ClientToken != "" {
		p.tokens[tk] = storedToken{r.RequestHash, id}
		p.newTokens = append(p.newTokens, r)
		p.tokenIDs = append(p.tokenIDs, id)
	}
	return meterd.CommitResult{Status: meterd.Committed, ID: id}
}

// write stores the planned rows in one round trip and moves
// ledger_sequence past the seqs it used. Should another writer have stored
// one of the keys since queueReadExisting's reads (another process committing
// between those reads and the lock), the insert skips that row; the
// transaction then asks to be run again, and the rerun sees the winner.
func (p *commitPlan) write(ctx context.Context, tx pgx.Tx) error {
	if len(p.inserts) == 0 && len(p.newTokens) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if len(p.inserts) > 0 {
		b.Queue("UPDATE ledger_sequence SET next = $1 WHERE id = 1", p.next+int64(len(p.inserts)))
		queueInsertRecords(b, p.inserts, p.seqs, p.allocs).Exec(func(tag pgconn.CommandTag) error {
			if n := tag.RowsAffected(); n != int64(len(p.inserts)) {
				return fmt.Errorf("%w: stored %d of %d new records", errRetry, n, len(p.inserts))
			}
			return nil
		})
		queueInsertTags(b, p.inserts, p.seqs)
		// The rollups follow behind a watermark (roll.go).
	}
	if len(p.newTokens) > 0 {
		queueInsertTokens(b, p.newTokens, p.tokenIDs).Exec(func(tag pgconn.CommandTag) error {
			if n := tag.RowsAffected(); n != int64(len(p.newTokens)) {
				return fmt.Errorf("%w: stored %d of %d client tokens", errRetry, n, len(p.newTokens))
			}
			return nil
		})
	}
	return tx.SendBatch(ctx, b).Close()
}
