package admin

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/meterd/meterd"
)

// Backuper is a store that copies itself, consistently and while it keeps
// taking writes, into a new file: the SQLite store. PostgreSQL is backed up
// with pg_dump instead.
type Backuper interface {
	Backup(ctx context.Context, path string) error
}

// backup answers a consistent copy of the store as the response body
// (application/vnd.sqlite3). The copy is made first, into a file of mode
// 0600 in BackupDir that is removed once sent, so that an error of the copy
// is still a JSON error answer; then the file is streamed, without the
// server's write timeout, which a large ledger would exceed.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	b, ok := s.Ledger.(Backuper)
	if !ok {
		return meterd.Errorf(meterd.EInvalid, "this store is not backed up through meterd: back up a PostgreSQL store with pg_dump")
	}
	dir := s.BackupDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "meterd-backup-*.db")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	defer os.Remove(name)
	if err := b.Backup(r.Context(), name); err != nil {
		return err
	}
	f, err = os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	// Removed before it is sent (the open file stays readable), so that no
	// copy of the secrets outlives the request, even when the client is
	// slow or the process dies.
	os.Remove(name)
	info, err := f.Stat()
	if err != nil {
		return err
	}
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	w.Header().Set("Content-Disposition", `attachment; filename="meterd-backup.db"`)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		// The status is sent: the client sees a short body.
		s.Logger.Warn("admin backup: sending the copy failed", "err", err)
	}
	return nil
}
