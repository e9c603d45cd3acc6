package relay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStoreSQLiteOneRelay opens a SQLite store twice: the second is
// refused while the first is open, as meterd serve refuses a second server
// on one ledger, and succeeds once it is closed.
func TestStoreSQLiteOneRelay(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	if s2, err := Open(ctx, path); err == nil {
		s2.Close()
		t.Fatal("second Open of a SQLite store succeeded, want it refused")
	} else if !strings.Contains(err.Error(), "another relay process") {
		t.Errorf("second Open = %v, want it to say another relay has the store", err)
	}
	s.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after the first closed = %v", err)
	}
	s2.Close()
}

// TestStoreFileModes opens a SQLite store under a permissive umask, in a
// new directory and over a database file an older relay left 0644: the
// directory is 0700, and the database, its WAL and SHM and lock 0600.
func TestStoreFileModes(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		prep func(t *testing.T, path string)
	}{
		{"new", func(*testing.T, string) {}},
		{"existing0644", func(t *testing.T, path string) {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.WriteFile(p, nil, 0o644); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				os.Chmod(p, 0o644)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dir, "relay.db")
			if tc.name != "new" {
				os.MkdirAll(dir, 0o700)
			}
			tc.prep(t, path)
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			now := t0.Add(10 * time.Minute)
			if _, err := s.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, now, nil)}, now, LateCurrentHour); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("data directory mode = %v, %v, want 0700", fi.Mode().Perm(), err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(p), err)
					continue
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
				}
			}
		})
	}
}
