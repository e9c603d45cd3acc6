package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/meterd/meterd"
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
const maxQuantity = 2147483647

const schema = `
CREATE TABLE IF NOT EXISTS events (
	id          TEXT PRIMARY KEY,
	product     TEXT NOT NULL,
	customer    TEXT NOT NULL,
	dimension   TEXT NOT NULL,
	hour        INTEGER NOT NULL,  -- unix seconds of the hour the event counts in
	quantity    INTEGER NOT NULL,
	tags        TEXT NOT NULL,     -- canonical JSON object, '' for none
	timestamp   INTEGER NOT NULL,  -- unix milliseconds
	late        INTEGER NOT NULL,  -- 1 when moved to the current hour
	received_at INTEGER NOT NULL   -- unix milliseconds, relay clock
);
CREATE TABLE IF NOT EXISTS aggregates (
	product                 TEXT NOT NULL,
	customer                TEXT NOT NULL,
	dimension               TEXT NOT NULL,
	hour                    INTEGER NOT NULL,
	customer_identifier     TEXT NOT NULL,
	customer_aws_account_id TEXT NOT NULL,
	license_arn             TEXT NOT NULL,
	events                  INTEGER NOT NULL,
	quantity                INTEGER NOT NULL,
	tag_keys                TEXT NOT NULL,  -- JSON array of the distinct tag keys
	tag_sets                INTEGER NOT NULL,
	last_ts                 INTEGER NOT NULL, -- latest event timestamp, unix ms
	state                   TEXT NOT NULL CHECK (state IN ('open', 'frozen', 'submitted')),
	timestamp               INTEGER NOT NULL DEFAULT 0, -- the record's Timestamp, fixed at freeze
	allocations             TEXT NOT NULL DEFAULT '',   -- meterd.CanonicalAllocations, fixed at freeze
	outcome                 TEXT NOT NULL DEFAULT '',
	metering_record_id      TEXT NOT NULL DEFAULT '',
	attempts                INTEGER NOT NULL DEFAULT 0,
	last_error              TEXT NOT NULL DEFAULT '',
	error_at                INTEGER NOT NULL DEFAULT 0, -- unix ms, wall time of last_error
	next_attempt            INTEGER NOT NULL DEFAULT 0, -- unix ms, wall time
	submitted_at            INTEGER NOT NULL DEFAULT 0, -- unix ms, relay clock
	PRIMARY KEY (product, customer, dimension, hour)
);
CREATE INDEX IF NOT EXISTS aggregates_state ON aggregates (state, hour);
CREATE TABLE IF NOT EXISTS allocations (
	product   TEXT NOT NULL,
	customer  TEXT NOT NULL,
	dimension TEXT NOT NULL,
	hour      INTEGER NOT NULL,
	tags      TEXT NOT NULL,
	quantity  INTEGER NOT NULL,
	PRIMARY KEY (product, customer, dimension, hour, tags)
);
`

// Store is the relay's durable outbox on a SQLite file: the events seen (for
// idempotency) and one aggregate per (product, customer, dimension, hour).
// Every method is one transaction; writes are serialised on one connection
// and committed with synchronous=FULL before they return.
type Store struct {
	db *sql.DB
	mu sync.Mutex // one writer: keeps read-then-write transactions simple
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
	Quantity             int64
	State                string
	Timestamp            time.Time // the record's Timestamp (frozen aggregates)
	Allocations          []meterd.UsageAllocation
	Outcome              string
	MeteringRecordID     string
	Attempts             int
	LastError            string
	NextAttempt          time.Time
	SubmittedAt          time.Time
}

// Open opens (creating it and its directory when missing) the relay store at
// path.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
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
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: schema %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// transact runs fn in one write transaction and commits it.
func (s *Store) transact(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
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
