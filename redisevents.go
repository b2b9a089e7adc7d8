package sessions

// AddHooks implements EventSource. The hooks also see the store calls and
// revocations of the per-user functions called with this store.
func (s *RedisStore) AddHooks(h Hooks) { s.events.AddHooks(h) }

// StoreName implements StoreNamer: "redis".
func (s *RedisStore) StoreName() string { return "redis" }

// storeHooks gives the per-user functions the hooks added to the store.
func (s *RedisStore) storeHooks() *StoreHooks { return &s.events }

var _ EventSource = (*RedisStore)(nil)
