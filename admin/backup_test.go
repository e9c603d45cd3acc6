package admin

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// TestBackup takes a backup through the client: the body is a meterd
// database holding the catalog, and no copy is left in BackupDir.
func TestBackup(t *testing.T) {
	f := newFixture(t)
	f.server.BackupDir = t.TempDir()
	var buf bytes.Buffer
	n, err := f.c.Backup(f.ctx, &buf)
	must(t, "Backup", err)
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d bytes, body %d bytes", n, buf.Len())
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	must(t, "write", os.WriteFile(file, buf.Bytes(), 0o600))
	must(t, "CheckBackup", sqlite.CheckBackup(f.ctx, file))
	if left, _ := os.ReadDir(f.server.BackupDir); len(left) != 0 {
		t.Errorf("BackupDir after the backup holds %v, want nothing", left)
	}
}

// TestBackupOtherStore answers 422 saying to use pg_dump for a store that
// cannot copy itself (PostgreSQL).
func TestBackupOtherStore(t *testing.T) {
	f := newFixture(t)
	f.server.Ledger = struct{ meterd.Ledger }{f.ledger}
	_, err := f.c.Backup(f.ctx, &bytes.Buffer{})
	wantError(t, "Backup of a store without Backup", err, 422, meterd.EInvalid)
	if e, ok := err.(*Error); ok && !bytes.Contains([]byte(e.Message), []byte("pg_dump")) {
		t.Errorf("message = %q, want it to name pg_dump", e.Message)
	}
}
