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
