package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// checkpointInterval is how often the checkpointer copies committed WAL
// frames into the database file.
const checkpointInterval = 250 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on its own connection until stop is
// closed, then closes done. The writer's automatic checkpoint is off
// (wal_autocheckpoint(0)): SQLite would run it inside the commit that
// crosses the threshold, with two more fsyncs and a copy of the WAL, so
// every thousandth page of commits waited for it. A passive checkpoint runs
// beside the writer and its readers without blocking them. Durability is
// unchanged: a commit is durable once its WAL frames are synced, before
// any checkpoint.
func checkpointer(db *sql.DB, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		// A busy or failed checkpoint leaves the frames in the WAL, where
		// they stay readable and durable; the next tick tries again.
		db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
	}
}
