// Package pgtx holds what both PostgreSQL stores (the ledger's and the
// relay's) need around their transactions: the error codes they act on,
// the retry of a transaction that lost to a concurrent one, and which
// server a connection reached.
package pgtx

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL error codes (SQLSTATE) the stores act on.
const (
	UniqueViolation      = "23505"
	ForeignKeyViolation  = "23503"
	SerializationFailure = "40001"
	DeadlockDetected     = "40P01"
	DuplicateTable       = "42P07"
	DuplicateObject      = "42710"
)

// Is reports whether err is a PostgreSQL error with the given code.
func Is(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// Conflict reports whether err is a serialization failure or a deadlock:
// the transaction lost to a concurrent one and may simply run again.
func Conflict(err error) bool {
	return Is(err, SerializationFailure) || Is(err, DeadlockDetected)
}

// CreateRace reports whether err is what a CREATE ... IF NOT EXISTS can
// fail with when two processes run it at once: they collide on the system
// catalogs (a unique violation, or the table or its row type already
// there), and the loser finds the object made.
func CreateRace(err error) bool {
	return Is(err, UniqueViolation) || Is(err, DuplicateTable) || Is(err, DuplicateObject)
}

// Retry runs fn until it succeeds, fails with an error retryable does not
// accept, or has run attempts times. Between attempts it waits a backoff
// that starts at first and doubles, with jitter so that two processes that
// collided do not collide again; it stops early when ctx is done.
func Retry(ctx context.Context, attempts int, first time.Duration, retryable func(error) bool, fn func() error) error {
	backoff := first
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == attempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		backoff *= 2
	}
}

// IsCockroachDB reports whether conn is to CockroachDB (from version()),
// which speaks PostgreSQL's protocol but plans otherwise and lacks the
// planner settings both stores make on PostgreSQL itself.
func IsCockroachDB(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return false, err
	}
	return strings.Contains(version, "CockroachDB"), nil
}
