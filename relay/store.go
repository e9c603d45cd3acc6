package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/filelock"
	"github.com/meterd/meterd/internal/fileperm"
	"github.com/meterd/meterd/internal/pgtx"
	"github.com/meterd/meterd/relay/wire"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Aggregate states. An aggregate is open while events may join it, frozen
// from the moment it is first handed to the upstream (it never changes
// again, so a resubmission is the identical record), and submitted once
// its outcome is final.
const (
	StateOpen      = "open"
	StateFrozen    = "frozen"
	StateSubmitted = "submitted"
)

// Outcomes of a submitted aggregate: the upstream's per-record statuses,
// and two of the relay's own.
const (
	OutcomeSuccess               = meterd.StatusSuccess
	OutcomeCustomerNotSubscribed = meterd.StatusCustomerNotSubscribed
	OutcomeDuplicateRecord       = meterd.StatusDuplicateRecord
	OutcomeExpired               = "Expired" // left the 6-hour window before it was accepted
	OutcomeFailed                = "Failed"  // refused by the upstream with a non-retryable error
)

// maxQuantity is the largest Quantity AWS accepts in a UsageRecord.
const maxQuantity = wire.MaxQuantity

// Store is the relay's durable outbox: the events seen (for idempotency)
// and one aggregate per (product, customer, dimension, hour). It lives in a
// SQLite file owned by one relay, or in a PostgreSQL database that several
// relays share. Every method is one transaction, committed durably
// (synchronous=FULL, or a synchronous PostgreSQL commit) before it returns.
// On PostgreSQL the transactions are SERIALIZABLE and retried on
// serialization failures and deadlocks, so that relays sharing the store
// behave as if their transactions ran one after another.
type Store struct {
	db       *sql.DB
	postgres bool
	lock     *os.File   // the SQLite store's process lock
	mu       sync.Mutex // one writer per process: keeps read-then-write transactions simple

	groupMu    sync.Mutex    // guards queued and committing: Ingest's group commit
	queued     []*ingestCall // Ingest calls waiting for the next group
	committing bool          // a goroutine is committing groups

	ingest    *ingestStmts // prepared once, after the migrations
	planHints atomic.Bool  // PostgreSQL itself: intake plans without sequential scans (tunePlanner)

	slotsMu sync.Mutex
	slots   map[string]int64 // SQLite: each upstream's next free send time (unix µs), see Reserve
}

// Key names an aggregate: the duplicate key of a BatchMeterUsage record.
type Key struct {
	Product   string
	Customer  string // the customer identifier, or the AWS account id
	Dimension string
	Hour      time.Time
}

// Record is an aggregate with its submission state.
type Record struct {
	Key
	CustomerIdentifier   string
	CustomerAWSAccountID string
	LicenseArn           string
	Events               int64
	Quantity             int64 // 0 when Quarantined for its quantity
	State                string
	Timestamp            time.Time // the record's Timestamp (frozen aggregates)
	Allocations          []meterd.UsageAllocation
	Outcome              string
	MeteringRecordID     string
	Attempts             int
	LastError            string
	NextAttempt          time.Time
	SubmittedAt          time.Time
	Quarantined          string // why the relay cannot send it; "" when it can
}

// Open opens the relay store named by dsn, applying the migrations it
// lacks: a postgres:// (or postgresql://) URL, or else the path of a SQLite
// file, created with its directory when missing.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if IsPostgresURL(dsn) {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

// IsPostgresURL reports whether dsn names a PostgreSQL database.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	// One relay per SQLite store: it releases every claim when it opens
	// (below), which would let two relays send the same records at once.
	lock, err := filelock.Lock(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("relay: %s is open in another relay process (%w); one relay at a time may use a SQLite store, use --store postgres://... to share one", path, err)
	}
	s, err := openSQLiteLocked(ctx, path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func openSQLiteLocked(ctx context.Context, path string) (*Store, error) {
	// The store holds customer identifiers and usage: readable by its
	// owner only, whatever the umask. SQLite gives the WAL and SHM files
	// the database file's mode; files of an older relay are narrowed.
	if err := fileperm.Private(path, path+"-wal", path+"-shm"); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("relay: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %s: %w", path, err)
	}
	if err := s.prepareIngest(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %s: %w", path, err)
	}
	// A SQLite store belongs to one relay process: claims left by a
	// previous run of it (killed while sending) are void, and its records
	// are due again at once.
	if _, err := db.ExecContext(ctx, `UPDATE aggregates SET claimed_until = 0 WHERE claimed_until != 0`); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %s: release claims: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.ingest.close()
	err := s.db.Close()
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Transaction retry policy on PostgreSQL.
const (
	maxAttempts  = 10
	firstBackoff = 2 * time.Millisecond
)

// transact runs fn in one write transaction and commits it. On PostgreSQL
// the transaction is SERIALIZABLE, and fn runs again (with jittered
// backoff) when it lost a serialization conflict or a deadlock to a
// concurrent transaction, typically another relay's: fn must start afresh
// each time.
func (s *Store) transact(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.postgres {
		return s.transactOnce(ctx, fn)
	}
	return pgtx.Retry(ctx, maxAttempts, firstBackoff, pgtx.Conflict, func() error { return s.transactOnce(ctx, fn) })
}

func (s *Store) transactOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelSerializable}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("relay: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("relay: commit: %w", err)
	}
	return nil
}

// q adapts a query written with SQLite's placeholders (? and ?N) to the
// store's dialect: PostgreSQL numbers them $1, $2, ...
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		b.WriteByte('$')
		if j > i+1 {
			b.WriteString(query[i+1 : j])
		} else {
			n++
			b.WriteString(strconv.Itoa(n))
		}
		i = j - 1
	}
	return b.String()
}

func ms(t time.Time) int64       { return t.UnixMilli() }
func fromMS(v int64) time.Time   { return time.UnixMilli(v).UTC() }
func fromUnix(v int64) time.Time { return time.Unix(v, 0).UTC() }
func hourOf(t time.Time) int64   { return meterd.Hour(t).Unix() }
func isNoRows(err error) bool    { return errors.Is(err, sql.ErrNoRows) }
func keyArgs(k Key) []any        { return []any{k.Product, k.Customer, k.Dimension, k.Hour.Unix()} }
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("relay: %s: %w", what, err)
}
