package sessions

import (
	"context"
	"time"
)

// The memory store's events: the janitor reports each record it removes
// as expired, within WithCleanupInterval of its expiry (one minute by
// default), and eviction under WithMaxSessions reports EventEvicted. They
// are reported exactly once, on the janitor's goroutine or on that of the
// request whose save evicted, with a background context. Records that
// Delete, Flush or a revocation removed are never reported as expired.

// AddHooks implements EventSource: h.Event receives EventExpired from the
// janitor and EventEvicted from eviction under WithMaxSessions, each once.
// A record read after its expiry but before the janitor's next run is not
// served; its event waits for that run.
func (s *MemoryStore) AddHooks(h Hooks) { s.events.AddHooks(h) }

// StoreName implements StoreNamer: "memory".
func (s *MemoryStore) StoreName() string { return "memory" }

// storeHooks gives the per-user functions the hooks added to the store.
func (s *MemoryStore) storeHooks() *StoreHooks { return &s.events }

// event describes r's end. The caller holds r's shard lock or owns r.
func (r *memoryRecord) event(kind EventKind, at time.Time) Event {
	head, _ := splitData(r.data)
	return Event{Kind: kind, UUID: head.uuid, Principal: head.principal, At: at}
}

// reportEvicted reports a record that eviction removed: one that had
// expired already is reported as such.
func (s *MemoryStore) reportEvicted(r *memoryRecord) {
	now := s.now()
	kind := EventEvicted
	if r.expires <= now.UnixNano() {
		kind = EventExpired
	}
	s.report(context.Background(), []Event{r.event(kind, now)})
}

// report hands events to the hooks, with no lock held.
func (s *MemoryStore) report(ctx context.Context, events []Event) {
	for _, e := range events {
		s.events.Emit(ctx, e)
	}
}

var _ EventSource = (*MemoryStore)(nil)
