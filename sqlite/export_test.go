package sqlite

import "context"

// CacheCounts returns how many catalog lookups the cache answered and how
// many went to the database.
func CacheCounts(s *Store) (hits, misses uint64) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.hits, s.cache.miss
}

// Checkpoint runs one checkpoint as the checkpointer does on its tick,
// after lowering the WAL length that makes it start over to restartFrames.
// It returns the WAL's length in frames before it ran.
func Checkpoint(s *Store, restartFrames int) int {
	s.walRestartFrames.Store(int64(restartFrames))
	return s.checkpoint(context.Background())
}
