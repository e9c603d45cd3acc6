package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/meterd/meterd/internal/filelock"
	"github.com/meterd/meterd/internal/schemaversion"
	sqlite3 "modernc.org/sqlite/lib"
)

// Backup writes a consistent copy of the database, as of one instant, to
// path: a new file, or an empty one, created mode 0600 (it holds secret
// keys). It runs VACUUM INTO on a connection of its own, which reads one
// snapshot of the database: in WAL mode that read neither waits for the
// writer nor holds it up, so the store keeps committing meanwhile, and the
// copy holds every transaction committed before Backup began.
func (s *Store) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	// VACUUM INTO does not sync the file it writes.
	if f, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return f.Close()
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// CheckBackup checks that path is a whole meterd database: a SQLite file
// that passes SQLite's quick check and holds meterd's tables at a schema
// version this meterd knows. Its error says what is wrong.
func CheckBackup(ctx context.Context, path string) error {
	if err := checkHeader(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer db.Close()
	if err := quickCheck(ctx, db, path); err != nil {
		return err
	}
	var tables int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table'
		AND name IN ('schema_migrations', 'settings', 'metering_records', 'client_tokens')`).Scan(&tables)
	if err != nil || tables != 4 {
		return fmt.Errorf("%s is a SQLite database but not a meterd ledger", path)
	}
	return checkVersion(ctx, db, path)
}

// checkHeader refuses a file that does not start as a SQLite database.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	head := make([]byte, len(sqliteHeader))
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("%s is not a SQLite database", path)
	}
	return nil
}

// quickCheck runs SQLite's quick check (every page and index entry is
// read) and refuses a database it finds damaged.
func quickCheck(ctx context.Context, db *sql.DB, path string) error {
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		if c := errCode(err) & 0xff; c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB {
			return fmt.Errorf("%s is damaged: %w", path, err)
		}
		return fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	} else if check != "ok" {
		return fmt.Errorf("%s is damaged: %s", path, check)
	}
	return nil
}

// checkVersion refuses a ledger that has applied a migration this meterd
// does not have (schemaversion.Check): this meterd would misread what a
// newer one wrote. A database without schema_migrations (a new one) passes.
func checkVersion(ctx context.Context, db *sql.DB, path string) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	}
	if n == 0 {
		return nil
	}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer rows.Close()
	var applied []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		applied = append(applied, v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := schemaversion.Check(applied, knownMigrations()); err != nil {
		return fmt.Errorf("%s was %w", path, err)
	}
	return nil
}

// knownMigrations are the migration versions embedded in this build.
func knownMigrations() []int64 {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	var known []int64
	for _, name := range names {
		var v int64
		if _, err := fmt.Sscanf(filepath.Base(name), "%d_", &v); err == nil {
			known = append(known, v)
		}
	}
	return known
}

// PreRestoreSuffix names the database that Restore replaced: path +
// PreRestoreSuffix, its WAL beside it.
const PreRestoreSuffix = ".pre-restore"

// Restore replaces the database at path with the backup from, with no
// process using path: it takes the store's lock (refusing while a meterd
// holds it), checks from with CheckBackup, copies it beside path (mode
// 0600, synced), moves the old database and its WAL aside to
// path.pre-restore (a WAL left beside path would be read as part of the
// restored file), and renames the copy to path.
func Restore(ctx context.Context, from, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lock, err := filelock.Lock(path + ".lock")
	if err != nil {
		return fmt.Errorf("%s is in use by a running meterd (%w): stop it before restoring", path, err)
	}
	defer lock.Close()
	if err := CheckBackup(ctx, from); err != nil {
		return err
	}
	tmp := path + ".restoring"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	// The database replaced is kept, with its WAL, as path.pre-restore.
	for _, suffix := range []string{"", "-wal"} {
		if err := os.Rename(path+suffix, path+PreRestoreSuffix+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Remove(path + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// copyFile copies from to a new file to (mode 0600), synced.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
