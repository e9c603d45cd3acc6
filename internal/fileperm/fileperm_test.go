package fileperm_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/meterd/meterd/internal/fileperm"
)

// TestDir warns about a data directory others can read, and makes
// a new one 0700.
func TestDir(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o755)
	if w, err := fileperm.Dir(open); err != nil || !strings.Contains(w, "0755") {
		t.Errorf("Dir(0755 directory) = %q, %v, want a warning naming 0755", w, err)
	}
	fresh := filepath.Join(t.TempDir(), "a", "b")
	if w, err := fileperm.Dir(fresh); err != nil || w != "" {
		t.Errorf("Dir(new) = %q, %v, want no warning", w, err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("new data directory mode = %v, %v, want 0700", fi.Mode().Perm(), err)
	}
}

// TestPrivateAndWriteSecret checks the modes under a permissive umask: a
// new file is 0600, and so is one that existed 0644.
func TestPrivateAndWriteSecret(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	db, wal, token := filepath.Join(dir, "a.db"), filepath.Join(dir, "a.db-wal"), filepath.Join(dir, "token")
	for _, p := range []string{wal, token} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := fileperm.Private(db, wal, filepath.Join(dir, "a.db-shm")); err != nil {
		t.Fatalf("Private = %v, want nil", err)
	}
	if err := fileperm.WriteSecret(token, []byte("secret\n")); err != nil {
		t.Fatalf("WriteSecret = %v, want nil", err)
	}
	for _, p := range []string{db, wal, token} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, %v, want 0600", filepath.Base(p), fi.Mode().Perm(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.db-shm")); !os.IsNotExist(err) {
		t.Errorf("Private created the missing SHM file (%v), want only the database created", err)
	}
}
