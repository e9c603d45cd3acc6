package relay

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"github.com/meterd/meterd/internal/pgtx"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrations holds the schema of each dialect, one file per version,
// numbered alike in both.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrate applies the embedded migrations the store lacks, in order, each
// in one transaction with its row in relay_schema_migrations. Relays that
// start at once on one PostgreSQL database race on that row: the loser's
// insert waits for the winner's commit, then fails serialization and runs
// again, finding the version applied. (No advisory locks and no LOCK
// TABLE: CockroachDB has neither.)
func (s *Store) migrate(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS relay_schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`)
	// Two processes racing on CREATE TABLE IF NOT EXISTS can collide on
	// PostgreSQL's catalogs; the loser finds the table there.
	if err != nil && !pgtx.CreateRace(err) {
		return fmt.Errorf("create relay_schema_migrations: %w", err)
	}
	dir := "migrations/sqlite"
	if s.postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names) // zero-padded versions: lexical order is numeric order
	for _, name := range names {
		version, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
		if err != nil {
			return fmt.Errorf("migration %s: no version prefix", name)
		}
		body, err := fs.ReadFile(migrations, path.Join(dir, name))
		if err != nil {
			return err
		}
		err = s.transact(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO relay_schema_migrations (version, applied_at)
				VALUES (?, ?) ON CONFLICT (version) DO NOTHING`), version, ms(time.Now()))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // applied before
			}
			_, err = tx.ExecContext(ctx, string(body))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}
