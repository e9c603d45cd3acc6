package console

import (
	"io/fs"
	"testing"
)

// TestEmbeddedSize holds the console's embedded files (vendored htmx and
// uPlot, the style sheet, the templates) to the 300 KB the console may add
// to the binary: go:embed stores each file's bytes as they are, so their
// sum is what the binary carries for them.
func TestEmbeddedSize(t *testing.T) {
	const limit = 300 * 1000
	var total int64
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || total > limit {
		t.Fatalf("embedded console files: %d bytes, want 1 to %d", total, limit)
	}
	t.Logf("embedded console files: %d bytes", total)
}
