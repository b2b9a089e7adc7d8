package sessions_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
)

// eventSink gathers the events reported to it, from any goroutine.
type eventSink struct {
	mu     sync.Mutex
	events []sessions.Event
}

func (s *eventSink) hooks() sessions.Hooks {
	return sessions.Hooks{Event: func(_ context.Context, e sessions.Event) {
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
	}}
}

// uuids returns the UUIDs of the events of kind, sorted, and forgets them.
func (s *eventSink) take(kind sessions.EventKind) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	rest := s.events[:0]
	for _, e := range s.events {
		if e.Kind == kind {
			out = append(out, e.UUID)
		} else {
			rest = append(rest, e)
		}
	}
	s.events = rest
	slices.Sort(out)
	return out
}

// TestMemoryExpiryEvents: the janitor reports each expired session once,
// anonymous or logged in, and no live one; a session revoked or flushed
// before it expired is never reported as expired.
func TestMemoryExpiryEvents(t *testing.T) {
	st, clk, clock := clockedStore(t)
	var sink eventSink
	h := newEngine(st, []sessions.Option{clock, sessions.WithCookieAge(time.Hour), sessions.WithHooks(sink.hooks())}, hookRoutes)
	visit := func(path string) (*client, string) {
		c := newClient(t, h)
		c.get(path)
		return c, c.get("/uuid").Body.String()
	}
	_, anon := visit("/set?k=a&v=1")
	_, ann := visit("/login?u=ann")
	_, revoked := visit("/login?u=bob")
	flushed, _ := visit("/set?k=a&v=1")
	flushed.get("/flush")
	if _, err := sessions.RevokeUserSessions(context.Background(), st, "bob"); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(sessions.EventRevoked); !slices.Equal(got, []string{revoked}) {
		t.Fatalf("revoked %q, want %q", got, revoked)
	}

	clk.advance(2 * time.Hour)
	_, live := visit("/login?u=cy")
	sessions.MemoryRemoveExpired(st)
	want := []string{anon, ann}
	slices.Sort(want)
	if got := sink.take(sessions.EventExpired); !slices.Equal(got, want) {
		t.Fatalf("expired %q, want %q (live %s)", got, want, live)
	}
	sessions.MemoryRemoveExpired(st)
	if got := sink.take(sessions.EventExpired); len(got) != 0 {
		t.Fatalf("a second pass reported %q again", got)
	}
	sink.mu.Lock()
	for _, e := range sink.events {
		if e.UUID == revoked && e.Kind != sessions.EventCreated && e.Kind != sessions.EventLoggedIn {
			t.Errorf("the revoked session also reported %v", e.Kind)
		}
	}
	sink.mu.Unlock()
}

// TestMemoryEvictionEvents: a store that runs no middleware reports to
// hooks added to it; eviction under WithMaxSessions reports EventEvicted,
// and an expired record that eviction takes reports EventExpired instead.
func TestMemoryEvictionEvents(t *testing.T) {
	st := sessions.NewMemoryStore(sessions.WithMaxSessions(2))
	t.Cleanup(func() { st.Close() })
	clk := newClock()
	sessions.SetMemoryClock(st, clk.Now)
	var sink eventSink
	st.AddHooks(sink.hooks())
	ctx := context.Background()
	save := func(uuid string, life time.Duration) {
		t.Helper()
		now := clk.Now()
		ch := sessions.Change{New: true, UUID: uuid, Created: now, Saved: now, Expires: now.Add(life), Set: map[string]string{"a": "1"}}
		if err := st.Save(ctx, sessionsID(uuid), ch); err != nil {
			t.Fatal(err)
		}
	}
	save("first", time.Minute)
	save("second", time.Hour)
	save("third", time.Hour)
	if got := sink.take(sessions.EventEvicted); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("evicted %q, want first", got)
	}
	clk.advance(2 * time.Hour)
	save("fourth", time.Hour)
	expired, evicted := sink.take(sessions.EventExpired), sink.take(sessions.EventEvicted)
	if len(expired) != 1 || (expired[0] != "second" && expired[0] != "third") || len(evicted) != 0 {
		t.Fatalf("expired %q, evicted %q; want second or third expired", expired, evicted)
	}
}

// sessionsID is a valid store id derived from s.
func sessionsID(s string) string {
	return sessions.StoreID(s + "-token-0123456789abcdefghijklmnopqrstuvwxyz")
}

// TestMemoryDeleteOfExpired: a record deleted after its expiry but before
// the janitor's run is reported as expired, since the janitor never will.
func TestMemoryDeleteOfExpired(t *testing.T) {
	st := newMemoryStore(t)
	clk := newClock()
	sessions.SetMemoryClock(st, clk.Now)
	var sink eventSink
	st.AddHooks(sink.hooks())
	now := clk.Now()
	for _, uuid := range []string{"live", "expired"} {
		ch := sessions.Change{New: true, UUID: uuid, Created: now, Saved: now, Expires: now.Add(time.Minute), Set: map[string]string{"a": "1"}}
		if uuid == "live" {
			ch.Expires = now.Add(time.Hour)
		}
		if err := st.Save(context.Background(), sessionsID(uuid), ch); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(2 * time.Minute)
	for _, uuid := range []string{"live", "expired"} {
		if _, err := st.Delete(context.Background(), sessionsID(uuid)); err != nil {
			t.Fatal(err)
		}
	}
	if got := sink.take(sessions.EventExpired); !slices.Equal(got, []string{"expired"}) {
		t.Fatalf("expired %q, want only the expired record", got)
	}
}
