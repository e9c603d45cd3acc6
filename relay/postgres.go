package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL error codes the store acts on.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeDuplicateTable       = "42P07"
	codeDuplicateObject      = "42710"
)

// connectTimeout bounds each attempt to reach the server, so that a caller
// learns quickly that it is down.
const connectTimeout = 5 * time.Second

// openPostgres opens the relay store in the PostgreSQL database at url.
// Relays sharing the database share the store.
func openPostgres(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	// Durability: acknowledge nothing before its commit is flushed, whatever
	// the server's default.
	cfg.RuntimeParams["synchronous_commit"] = "on"
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	// Writes are serialised per process (Store.mu); the rest are reads for
	// the API and the submitter.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, postgres: true}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %w", err)
	}
	return s, nil
}

// retryable reports whether err is a transaction that lost to a concurrent
// one and may simply run again.
func retryable(err error) bool {
	return isCode(err, codeSerializationFailure) || isCode(err, codeDeadlockDetected)
}

// isCode reports whether err is a PostgreSQL error with the given code.
func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
