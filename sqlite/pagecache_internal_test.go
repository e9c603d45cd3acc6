package sqlite

import (
	"path/filepath"
	"testing"
)

// TestWriterPageCache checks the writer's page cache is 16 MiB. It bounds
// serve's peak RSS (each cached page takes an 8 KiB slot of modernc's
// allocator: 64 MiB put the peak at 170 MB under the batch load), and a
// change of it to 16 MiB was once lost in a rebase with only its comment
// kept.
func TestWriterPageCache(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kib int
	if err := s.write.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&kib); err != nil {
		t.Fatal(err)
	}
	if kib != -16384 {
		t.Errorf("writer's PRAGMA cache_size = %d, want -16384 (16 MiB)", kib)
	}
}
