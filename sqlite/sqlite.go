// Package sqlite implements meterd.Ledger on an embedded SQLite database
// (modernc.org/sqlite, pure Go).
//
// Writes go through one connection; reads use a separate pool of read-only
// connections, which WAL mode lets run beside the writer. Commit uses group
// commit: one writer goroutine stores the pending batches of many callers in
// one durable transaction (see commit.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/filelock"
	"github.com/meterd/meterd/internal/fileperm"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DSN parameters. The writer takes its lock at BEGIN (immediate) so that a
// transaction never fails half-way on a lock upgrade; synchronous=FULL makes
// every commit durable before Commit answers. The writer's 16 MiB page cache
// keeps the hot ends of the ledger's indexes in memory; it takes about twice
// that from the process, since modernc's allocator rounds each cached page
// (4 KiB and a header) up to an 8 KiB slot, so 64 MiB put serve's peak RSS
// at 170 MB under the batch load (docs/performance.md). The writer never
// checkpoints; the checkpointer's connection does (checkpoint.go). When the
// WAL starts over, a file that a burst made longer than 64 MiB is cut back
// to that (journal_size_limit).
const (
	writeParams      = "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)&_txlock=immediate"
	readParams       = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
	checkpointParams = "_pragma=busy_timeout(5000)&_pragma=synchronous(FULL)&_pragma=wal_autocheckpoint(0)"
)

// Store is a meterd.Ledger on a SQLite file. Its methods are safe for
// concurrent use. One process at a time may open a file: the Store keeps the
// catalog it has read and forgets it when it writes the catalog itself, so
// catalog changes written by another process meanwhile would go unseen.
type Store struct {
	write *sql.DB // one connection: SQLite allows one writer at a time
	read  *sql.DB
	ckpt  *sql.DB      // one connection for the checkpointer
	stmts *recordStmts // the commit path's statements, on write
	reads *readStmts   // the request path's catalog reads, on read
	cache catalogCache // the request path's catalog reads, kept (cache.go)
	lock  *os.File     // held locked while open: one process per file
	path  string       // the database file, for Backup

	// closeMu guards closed and the sends on queue, so that Close can close
	// the queue once no sender is left.
	closeMu sync.RWMutex
	closed  bool
	queue   chan *batch
	done    chan struct{} // closed when the writer goroutine has exited

	// writeMu is held by the writer goroutine around each transaction, and
	// by the checkpointer to hold it off (checkpoint.go).
	writeMu          sync.Mutex
	walRestartFrames atomic.Int64
	walFrames        atomic.Int64 // at the last checkpoint, for Stats

	stopCkpt chan struct{} // closed to stop the checkpointer
	ckptDone chan struct{} // closed when the checkpointer has exited

	stopRoll     chan struct{} // closed to stop the roller (roll.go)
	stopRollOnce sync.Once
	rollDone     chan struct{} // closed when the roller has exited
	lastSeq      atomic.Int64  // the highest seq committed, for the roller's lag
	watermark    atomic.Int64  // the rollups' watermark at the last roll

	transactions, batches, records, rolled, rollErrors atomic.Int64
}

var _ meterd.Ledger = (*Store)(nil)

// Stats counts the work of the group-commit writer since Open.
type Stats struct {
	Transactions int64 // committed write transactions holding records
	Batches      int64 // Commit calls served
	Records      int64 // records given to those calls
	WALFrames    int64 // the WAL's length in frames at the last checkpoint
	// RollupLag is how far the rollups' watermark trails the last record
	// committed, in sequence numbers (about records); summaries add those
	// records from the ledger itself.
	RollupLag  int64
	Rolled     int64 // records folded into the rollups
	RollErrors int64 // rolls that failed (and were retried)
}

// Open opens (creating it and its directory when missing) the SQLite
// database at path, applies pending migrations and starts the writer. The
// ledger holds secret keys, session tokens and RegisterUsage private keys:
// a new directory is 0700, and the database, its WAL and SHM are 0600
// whatever the umask (files left wider by an older meterd are narrowed).
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// One process at a time: the store keeps the catalog in memory and
	// forgets it on its own writes only, so a second process writing the
	// same file would leave it answering with deleted keys.
	lock, err := filelock.Lock(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s is open in another process (%w); one meterd process at a time may use a SQLite ledger, use PostgreSQL to share one", path, err)
	}
	if err := fileperm.Private(path, path+"-wal", path+"-shm"); err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := checkAtOpen(ctx, path); err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite: %w; restore a backup (meterd restore) or move the file away", err)
	}
	s, err := open(ctx, path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// QuickCheckMaxBytes bounds the database (with its WAL) that Open checks
// page by page with SQLite's quick check; a larger one gets only the
// header and schema version checks, so that a start stays quick.
const QuickCheckMaxBytes = 1 << 30

// checkAtOpen refuses a damaged database before anything writes to it:
// the header always, SQLite's quick check under QuickCheckMaxBytes, and a
// schema newer than this meterd's. A new (empty) file passes.
func checkAtOpen(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return err
	}
	if err := checkHeader(path); err != nil {
		return err
	}
	// Read-write, so that SQLite recovers a WAL left by a crash first, as
	// the store's own connections will.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer db.Close()
	size := fi.Size()
	if wal, err := os.Stat(path + "-wal"); err == nil {
		size += wal.Size()
	}
	if size <= QuickCheckMaxBytes {
		if err := quickCheck(ctx, db, path); err != nil {
			return err
		}
	}
	return checkVersion(ctx, db, path)
}

func open(ctx context.Context, path string) (*Store, error) {
	write, err := sql.Open("sqlite", "file:"+path+"?"+writeParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", "file:"+path+"?"+readParams)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	stmts, err := prepareRecordStmts(ctx, write)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	reads, err := prepareReadStmts(ctx, read)
	if err != nil {
		stmts.close()
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+checkpointParams)
	if err != nil {
		stmts.close()
		reads.close()
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	s := &Store{
		path:     path,
		write:    write,
		read:     read,
		ckpt:     ckpt,
		stmts:    stmts,
		reads:    reads,
		queue:    make(chan *batch, queueSize),
		done:     make(chan struct{}),
		stopCkpt: make(chan struct{}),
		ckptDone: make(chan struct{}),
		stopRoll: make(chan struct{}),
		rollDone: make(chan struct{}),
	}
	var last, watermark int64
	if err := write.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0), (SELECT seq FROM rollup_watermark) FROM metering_records`).Scan(&last, &watermark); err != nil {
		stmts.close()
		reads.close()
		write.Close()
		read.Close()
		ckpt.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.lastSeq.Store(last)
	s.watermark.Store(watermark)
	s.walRestartFrames.Store(walRestartFrames)
	go s.run()
	go s.checkpointer()
	go s.roller()
	return s, nil
}

// Close stores the commits still queued, stops the writer and closes the
// database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.closeMu.Unlock()
	<-s.done
	s.StopRoller()
	close(s.stopCkpt)
	<-s.ckptDone
	s.stmts.close()
	s.reads.close()
	// The read and checkpoint connections close first, so that the
	// writer's close, the last, checkpoints the WAL into the database.
	err := errors.Join(s.read.Close(), s.ckpt.Close(), s.write.Close())
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Transactions: s.transactions.Load(),
		Batches:      s.batches.Load(),
		Records:      s.records.Load(),
		WALFrames:    s.walFrames.Load(),
		RollupLag:    max(0, s.lastSeq.Load()-s.watermark.Load()),
		Rolled:       s.rolled.Load(),
		RollErrors:   s.rollErrors.Load(),
	}
}

// Ping checks that both connection pools reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// migrate applies, in order and each in its own transaction, the embedded
// migrations not yet recorded in schema_migrations.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := transact(ctx, db, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)`,
				version, base, time.Now().UnixMilli())
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// transact runs fn in one transaction of db, committing when fn succeeds.
func transact(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	return transactOpts(ctx, db, nil, fn)
}

// readTx runs fn in one read-only transaction, so that a method reading
// several tables sees one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return transactOpts(ctx, s.read, &sql.TxOptions{ReadOnly: true}, fn)
}

func transactOpts(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// errCode returns the extended SQLite result code of err, or 0 when err is
// not a SQLite error.
func errCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	c := errCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	return errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// ms converts a time to the unix milliseconds stored in *_ms columns.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS is the inverse of ms, in UTC.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
