package sqlite

// CacheCounts returns how many catalog lookups the cache answered and how
// many went to the database.
func CacheCounts(s *Store) (hits, misses uint64) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.hits, s.cache.miss
}
