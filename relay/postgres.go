package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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
	// Plan each execution of a prepared statement with its values and the
	// tables' sizes of the moment. A generic plan, which PostgreSQL may keep
	// after a statement's fifth execution, was made while the events table
	// was small: it scanned the whole table for each id looked up, and a
	// group of 32,000 events took minutes to read as it grew.
	cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
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
	if err := s.prepareIngest(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay: %w", err)
	}
	return s, nil
}
