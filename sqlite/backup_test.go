package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// TestBackupUnderWrites takes a backup while goroutines keep committing:
// the copy is a file of mode 0600 that CheckBackup accepts, it holds every
// record committed before Backup began, and Restore brings it back as a
// store that opens and serves them.
func TestBackupUnderWrites(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	commitOne := func(n int) {
		r := record(n, fmt.Sprintf("cust-%d", n), int64(n))
		if _, err := s.Commit(ctx, []*meterd.MeteringRecord{r}); err != nil {
			t.Errorf("Commit(%d) = %v", n, err)
		}
	}
	const before = 200
	for n := 1; n <= before; n++ {
		commitOne(n)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for n := 1000 * (g + 1); ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				commitOne(n)
			}
		})
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	err = s.Backup(ctx, backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup under writes = %v, want nil", err)
	}
	if info, err := os.Stat(backup); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("backup file = %v, %v; want mode 0600", info, err)
	}
	if err := sqlite.CheckBackup(ctx, backup); err != nil {
		t.Fatalf("CheckBackup(backup) = %v, want nil", err)
	}

	err = sqlite.Restore(ctx, backup, filepath.Join(dir, "meterd.db"))
	if err == nil || !strings.Contains(err.Error(), "running meterd") {
		t.Errorf("Restore over an open store = %v, want a refusal naming the running meterd", err)
	}
	restored := filepath.Join(t.TempDir(), "meterd.db")
	if err := sqlite.Restore(ctx, backup, restored); err != nil {
		t.Fatalf("Restore = %v, want nil", err)
	}
	r, err := sqlite.Open(ctx, restored)
	if err != nil {
		t.Fatalf("Open(restored) = %v", err)
	}
	defer r.Close()
	got := map[string]int64{}
	err = r.Usage(ctx, meterd.UsageFilter{}, func(rec *meterd.MeteringRecord) error {
		got[rec.ID] = rec.Quantity
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= before; n++ {
		if q, ok := got[record(n, "", 0).ID]; !ok || q != int64(n) {
			t.Errorf("restored record %d = %d, %v; want quantity %d", n, q, ok, n)
		}
	}
	if info, err := os.Stat(restored); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("restored file = %v, %v; want mode 0600", info, err)
	}
}

// TestCheckBackup refuses what is not a whole meterd database, each with
// a message saying what it is.
func TestCheckBackup(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all, but long enough to have a header"), 0o600)
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	truncated := filepath.Join(dir, "truncated.db")
	s, err := sqlite.Open(ctx, filepath.Join(dir, "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "whole.db")
	if err := s.Backup(ctx, whole); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, _ := os.ReadFile(whole)
	os.WriteFile(truncated, b[:len(b)/2], 0o600)

	tests := []struct{ name, path, want string }{
		{"Missing", filepath.Join(dir, "none.db"), "no such file"},
		{"Text", text, "is not a SQLite database"},
		{"OtherDatabase", other, "not a meterd ledger"},
		{"Truncated", truncated, "truncated.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqlite.CheckBackup(ctx, tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckBackup(%s) = %v, want an error with %q", tt.name, err, tt.want)
			}
			target := filepath.Join(t.TempDir(), "meterd.db")
			if err := sqlite.Restore(ctx, tt.path, target); err == nil {
				t.Errorf("Restore(%s) = nil, want the CheckBackup error", tt.name)
			}
			if _, err := os.Stat(target); err == nil {
				t.Errorf("Restore(%s) left a database file", tt.name)
			}
		})
	}
	if err := sqlite.CheckBackup(ctx, whole); err != nil {
		t.Errorf("CheckBackup(whole backup) = %v, want nil", err)
	}
}
