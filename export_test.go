package sessions

import "time"

// WithClock replaces the middleware's clock, so that expiry can be tested
// without sleeping.
func WithClock(now func() time.Time) Option {
	return func(m *middleware) { m.now = now }
}

// StoreID exposes the digest under which a token is stored.
func StoreID(token string) string { return storeID(token) }

// SetMemoryClock replaces a memory store's clock.
func SetMemoryClock(s *MemoryStore, now func() time.Time) { s.now = now }

// MemoryIndexLen returns the number of entries in a memory store's
// per-user index, dead ones included.
func MemoryIndexLen(s *MemoryStore) int {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	n := 0
	for _, keys := range s.users.byPrincipal {
		n += len(keys)
	}
	return n
}

// MemoryRemoveExpired runs one pass of a memory store's janitor.
func MemoryRemoveExpired(s *MemoryStore) { s.removeExpired() }
