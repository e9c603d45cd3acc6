package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/meterd/meterd/internal/pgtx"
	"github.com/meterd/meterd/internal/schemaversion"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the embedded migrations that the database lacks, in the
// order of their numeric prefix. Several processes may start at once: the
// migrations run in one transaction that first locks the row of version 0
// in schema_migrations (SELECT ... FOR UPDATE), so a second process waits,
// then finds them applied. A row lock, not LOCK TABLE or an advisory lock:
// CockroachDB has neither. A database that has applied a migration this
// build lacks is refused before anything is applied (schemaversion.Check).
func migrate(ctx context.Context, s *Store) error {
	_, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`)
	// Two processes racing on CREATE TABLE IF NOT EXISTS can collide on the
	// system catalogs (a unique violation, or the table or its row type
	// already existing); the loser finds the table there.
	if err != nil && !pgtx.CreateRace(err) {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := migrationFiles()
	if err != nil {
		return err
	}
	return s.Transact(ctx, func(tx pgx.Tx) error {
		// Version 0 is no migration: its row is the migrators' lock. A
		// second process inserting it at the same moment waits for the
		// first's commit, then inserts nothing.
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES (0) ON CONFLICT (version) DO NOTHING"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT version FROM schema_migrations WHERE version = 0 FOR UPDATE"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		known := make([]int64, len(files))
		for i, f := range files {
			known[i] = f.version
		}
		if err := schemaversion.Check(applied, known); err != nil {
			return fmt.Errorf("the database was %w", err)
		}
		for _, f := range files {
			if slices.Contains(applied, f.version) {
				continue
			}
			if _, err := tx.Exec(ctx, f.sql); err != nil {
				return fmt.Errorf("migration %s: %w", f.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", f.version); err != nil {
				return err
			}
		}
		return nil
	})
}

type migration struct {
	name    string
	version int64
	sql     string
}

// migrationFiles returns the embedded migrations ordered by version.
func migrationFiles() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if !ok || err != nil || v < 1 { // version 0 is the migrators' lock row
			return nil, fmt.Errorf("migration %s: name must start with a number above 0 and an underscore", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{e.Name(), v, string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return int(a.version - b.version) })
	return out, nil
}
