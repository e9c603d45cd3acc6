package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// ledgerFile returns the path of a closed ledger holding 3,000 records
// (enough pages to damage one in the middle), checkpointed into the file.
func ledgerFile(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meterd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*meterd.MeteringRecord
	for i := range 3000 {
		recs = append(recs, record(i+1, fmt.Sprintf("cust-%d", i), 1))
	}
	if _, err := s.Commit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesDamaged checks that Open refuses, with a message saying
// what is wrong, a ledger whose header or pages are damaged or whose schema
// is newer than this meterd, and opens the same file undamaged.
func TestOpenRefusesDamaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"Undamaged", func(*testing.T, string) {}, ""},
		{"Header", func(t *testing.T, path string) { overwrite(t, path, 0, []byte("not a database!!")) }, "is not a SQLite database"},
		{"Pages", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			const page = 4096
			mid := fi.Size() / page / 2 * page
			overwrite(t, path, mid, []byte(strings.Repeat("\x55", 3*page)))
		}, "is damaged"},
		{"NewerSchema", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (9999, '9999_future.sql', 0)`); err != nil {
				t.Fatal(err)
			}
		}, "written by a newer meterd (schema version 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ledgerFile(t)
			tt.damage(t, path)
			s, err := sqlite.Open(t.Context(), path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Open(undamaged) = %v, want nil", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open(damaged %s) = nil, want an error", tt.name)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open(damaged %s) = %q, want it to name %s and say %q", tt.name, err, path, tt.want)
			}
		})
	}
}

// overwrite writes b into the file at path at offset off.
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
