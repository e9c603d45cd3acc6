package sqlite

import (
	"context"
	"time"
)

const (
	// checkpointInterval is how often the checkpointer copies committed WAL
	// frames into the database file.
	checkpointInterval = 250 * time.Millisecond
	// walRestartFrames is the WAL length (16 MiB of 4 KiB pages) beyond
	// which a checkpoint holds off the writer so that the WAL starts over
	// (Store.walRestartFrames, which tests lower).
	walRestartFrames = 4096
)

// checkpointer runs checkpoints on their own connection until s.stopCkpt
// is closed, then closes s.ckptDone. The writer's automatic checkpoint is off
// (wal_autocheckpoint(0)): SQLite would run it inside the commit that
// crosses the threshold, with two more fsyncs and a copy of the WAL, so
// every thousandth page of commits waited for it. A passive checkpoint runs
// beside the writer and its readers without blocking them. Durability is
// unchanged: a commit is durable once its WAL frames are synced, before
// any checkpoint.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopCkpt:
			return
		case <-t.C:
		}
		s.checkpoint(context.Background())
	}
}

// checkpoint copies the WAL's committed frames into the database file and,
// once the WAL holds walRestartFrames or more, makes it start over.
//
// SQLite starts the WAL over only when a write transaction begins with
// every frame already copied. Under steady writes a passive checkpoint
// never sees that: the writer appends while it copies. So the WAL would
// grow without end (200 MB in 10 s of MeterUsage at 500 requests/s). Once
// it is long, a second checkpoint runs with the writer held between two
// transactions (writeMu): it copies the few frames the first one missed,
// and the writer's next transaction writes from the WAL's start. A busy or
// failed checkpoint leaves the frames in the WAL, where they stay readable
// and durable; the next tick tries again. It returns the WAL's length in
// frames before it ran, 0 if unknown.
func (s *Store) checkpoint(ctx context.Context) (frames int) {
	var busy, copied int
	err := s.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	if err == nil {
		s.walFrames.Store(int64(frames))
	}
	if err != nil || int64(frames) < s.walRestartFrames.Load() {
		return frames
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.ckpt.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	return frames
}
