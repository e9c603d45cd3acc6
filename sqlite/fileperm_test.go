package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// TestFileModes opens a ledger under umask 022 in a new directory, and over
// a database an older meterd left 0644: the ledger holds secret keys,
// session tokens and RegisterUsage private keys, so the directory is 0700
// and the database, its WAL, SHM and lock 0600.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	for _, existing := range []bool{false, true} {
		name := map[bool]string{false: "New", true: "Existing0644"}[existing]
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dir, "meterd.db")
			if existing {
				s, err := sqlite.Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				os.Chmod(dir, 0o700)
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					os.Chmod(p, 0o644)
				}
			}
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatalf("Open = %v, want nil", err)
			}
			defer s.Close()
			if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(1, "cust-1", 1)}); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("data directory mode = %v, %v, want 0700", fi.Mode().Perm(), err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(p), err)
				} else if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
				}
			}
		})
	}
}
