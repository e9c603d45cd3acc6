package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/meterd/meterd/internal/pgtx"
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
	s := &Store{postgres: true}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(s.tunePlanner))
	// Writes are serialised per process (Store.mu); the rest are reads for
	// the API and the submitter.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %w", err)
	}
	if err := s.prepareIngest(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %w", err)
	}
	return s, nil
}

// tunePlanner runs on each new connection. On PostgreSQL itself (not on
// CockroachDB, which plans otherwise and lacks these settings) it has each
// execution of a prepared statement planned with its values and the
// tables' sizes of the moment, and marks the store's intake transactions
// to plan without sequential scans (Store.planHints). A generic plan,
// which PostgreSQL may keep after a statement's fifth execution, was made
// while the events table was small: it scanned the whole table for each
// id looked up, and a group of 32,000 events took minutes to read as the
// table grew.
func (s *Store) tunePlanner(ctx context.Context, conn *pgx.Conn) error {
	if crdb, err := pgtx.IsCockroachDB(ctx, conn); err != nil || crdb {
		return err
	}
	s.planHints.Store(true)
	_, err := conn.Exec(ctx, "SET plan_cache_mode = force_custom_plan")
	return err
}
