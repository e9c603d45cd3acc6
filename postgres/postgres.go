// Package postgres implements meterd.Ledger on PostgreSQL with pgx: the
// shared store that several meterd processes can use at once.
//
// Every method that writes, or reads with more than one statement, is one
// transaction run through Transact, which retries serialization failures and
// deadlocks. A lookup of one statement runs on the pool without BEGIN and
// COMMIT (one statement is atomic by itself, and the explicit transaction
// tripled the round trips of every lookup a request makes), with the same
// retries. Commit uses group commit, like the SQLite store: one writer
// goroutine per Store drains the pending batches into one synchronously
// committed transaction. Across processes the unique key of
// metering_records decides which record wins; the commit transaction also
// locks the one row of ledger_sequence and takes seqs from it, so that seq
// (the usage cursor) is assigned in commit order by every process.
//
// The SQL is that of PostgreSQL 15 and later, kept to what CockroachDB also
// has: row locks (SELECT ... FOR UPDATE) instead of LOCK TABLE, no advisory
// locks, no LISTEN/NOTIFY. TestPortableSQL enforces this.
//
// Errors are *meterd.Error for the codes of meterd.Ledger; anything else,
// such as a server that cannot be reached, is a plain wrapped error that the
// server reports as an internal error. The pool reconnects by itself when
// the server comes back.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

// Transact retry policy.
const (
	maxAttempts  = 5
	firstBackoff = 5 * time.Millisecond
)

// connectTimeout bounds each attempt to reach the server, so that a caller
// learns quickly that it is down.
const connectTimeout = 5 * time.Second

// Store is a meterd.Ledger on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool

	queue     chan *commitRequest
	closeMu   sync.RWMutex // held for reading while queueing, for writing by Close
	closed    bool
	stop      chan struct{} // closed by Close: the writer drains and exits
	done      chan struct{} // closed when the writer has exited
	closeOnce sync.Once

	transactions atomic.Int64
	batches      atomic.Int64
	records      atomic.Int64

	stopRoll     chan struct{} // closed to stop the roller (roll.go)
	stopRollOnce sync.Once
	rollDone     chan struct{} // closed when the roller has exited
	rollupLag    atomic.Int64  // records after the watermark, at the roller's last tick
	rolled       atomic.Int64
	rollErrors   atomic.Int64

	planHints atomic.Bool // the server is PostgreSQL itself (tunePlanner)
}

var _ meterd.Ledger = (*Store)(nil)

// tunePlanner runs on each new connection. On PostgreSQL itself (not on
// CockroachDB, which plans otherwise and may lack these settings, so that
// they are not startup parameters either) it turns JIT compilation off: a
// summary by customer at ten million records is costed above
// jit_above_cost, and compiling it took 450 of its 570 ms on the 2-core
// test machine, where none of the store's statements runs long enough to
// earn its compilation back. It also marks the store so that commits plan
// their key lookups for their arrays (Store.planHints, queueReadExisting).
func (s *Store) tunePlanner(ctx context.Context, conn *pgx.Conn) error {
	if crdb, err := pgtx.IsCockroachDB(ctx, conn); err != nil || crdb {
		return err
	}
	s.planHints.Store(true)
	_, err := conn.Exec(ctx, "SET jit = off")
	return err
}

// Open connects to the database at url (a postgres:// URL), applies the
// migrations it lacks and starts the commit writer.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Durability: acknowledge nothing before its commit is flushed, whatever
	// the server's default.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	// Hour buckets are UTC hours, whatever the server's time zone.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > connectTimeout {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	s := &Store{
		queue: make(chan *commitRequest, 1024),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),

		stopRoll: make(chan struct{}),
		rollDone: make(chan struct{}),
	}
	cfg.AfterConnect = s.tunePlanner
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.pool = pool
	if err := migrate(ctx, s); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	go s.writer()
	go s.roller()
	return s, nil
}

// Close flushes the pending commits, stops the writer and closes the pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.stop)
		<-s.done
		s.StopRoller()
		s.pool.Close()
	})
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Stats counts the work of the group-commit writer since Open, as the
// SQLite store's Stats does.
type Stats struct {
	Transactions int64 // committed write transactions holding records
	Batches      int64 // Commit calls served
	Records      int64 // records given to those calls
	// RollupLag is how many records (in sequence numbers) of any process
	// the rollups' watermark trailed at the roller's last tick.
	RollupLag  int64
	Rolled     int64 // records this process folded into the rollups
	RollErrors int64 // this process's rolls that failed (and were retried)
}

// Stats returns the writer's counters; Batches/Transactions is the mean
// number of callers sharing a commit.
func (s *Store) Stats() Stats {
	return Stats{Transactions: s.transactions.Load(), Batches: s.batches.Load(), Records: s.records.Load(),
		RollupLag: s.rollupLag.Load(), Rolled: s.rolled.Load(), RollErrors: s.rollErrors.Load()}
}

// errRetry asks Transact to run the transaction again: another process
// won a race the transaction had planned for.
var errRetry = errors.New("postgres: concurrent writer; retry")

// Transact runs fn in a transaction and commits it, or rolls it back when fn
// fails. Serialization failures, deadlocks, a BEGIN that did not get through
// (a pooled connection the server closed, say), and connection errors
// raised before anything reached the server are retried a few times with
// exponential backoff, so fn must be safe to run again.
func (s *Store) Transact(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error { return s.transactOnce(ctx, fn) })
}

// retry runs fn until it succeeds, fails with an error that is not
// retryable, or has run maxAttempts times, with jittered exponential
// backoff between attempts.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	return pgtx.Retry(ctx, maxAttempts, firstBackoff, retryable, fn)
}

// errBegin marks a transaction that failed before it wrote anything (its
// BEGIN, or the commit's first round trip of reads): it can run again.
var errBegin = errors.New("begin")

func (s *Store) transactOnce(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errBegin, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// retryable reports whether a failed transaction may simply be run again.
func retryable(err error) bool {
	return errors.Is(err, errRetry) || errors.Is(err, errBegin) || pgtx.Conflict(err) ||
		pgconn.SafeToRetry(err)
}

// notFound returns ENotFound ("what not found") for pgx.ErrNoRows and wraps
// any other error.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return meterd.Errorf(meterd.ENotFound, "%s not found", what)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// ms rounds a time to the millisecond precision the ledger keeps, in UTC.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
