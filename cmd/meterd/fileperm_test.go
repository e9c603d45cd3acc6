package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/meterd/meterd/server"
)

// TestServeFileModes starts meterd under umask 022: in a new data
// directory, which must be 0700 with meterd.db, its WAL and SHM and the
// generated admin token 0600; and in an existing 0755 directory, which is
// left as it is with a warning at start.
func TestServeFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	for _, tc := range []struct {
		name    string
		dir     func(t *testing.T) string
		warning bool
	}{
		{"NewDirectory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "data") }, false},
		{"OpenDirectory", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			return d
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			cfg.Listen, cfg.Data = "127.0.0.1:0", tc.dir(t)
			log := &syncBuffer{}
			m := &server.Main{Config: cfg, Logger: slog.New(slog.NewJSONHandler(log, nil))}
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := meterOnce(context.Background(), m, "buyer", "buyer", 0); err != nil {
				t.Fatal(err) // a commit, so that the WAL and SHM exist
			}
			want := os.FileMode(0o700)
			if tc.warning {
				want = 0o755
			}
			if fi, err := os.Stat(cfg.Data); err != nil || fi.Mode().Perm() != want {
				t.Errorf("data directory mode = %v, %v, want %04o", fi.Mode().Perm(), err, want)
			}
			for _, f := range []string{"meterd.db", "meterd.db-wal", "meterd.db-shm", "admin-token"} {
				fi, err := os.Stat(filepath.Join(cfg.Data, f))
				if err != nil {
					t.Errorf("%s: %v", f, err)
				} else if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %04o, want 0600", f, fi.Mode().Perm())
				}
			}
			warned := strings.Contains(log.String(), `"level":"WARN","msg":"the data directory`)
			if warned != tc.warning {
				t.Errorf("warning about the data directory logged = %v, want %v; log:\n%s", warned, tc.warning, log)
			}
		})
	}
}
