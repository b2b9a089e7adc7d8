package pgstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/pgstore"
)

// sink gathers the events reported to its hooks.
type sink struct {
	mu     sync.Mutex
	events []sessions.Event
}

func (s *sink) hooks() sessions.Hooks {
	return sessions.Hooks{Event: func(_ context.Context, e sessions.Event) {
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
	}}
}

// uuids returns the UUIDs of the events of kind, each once, sorted.
func (s *sink) uuids(kind sessions.EventKind) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		if e.Kind == kind && !slices.Contains(out, e.UUID) {
			out = append(out, e.UUID)
		}
	}
	slices.Sort(out)
	return out
}

// TestCleanerEvents: two stores cleaning one table together report every
// expired session, anonymous or logged in, with its user, and no live one;
// a revoked session reports EventRevoked and never EventExpired, and an
// expired one that a revocation finds is left to the cleaner, which
// reports it as expired.
func TestCleanerEvents(t *testing.T) {
	a, pool, table := newStore(t, pgstore.WithBatch(5))
	b, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(table), pgstore.WithBatch(5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var events sink
	a.AddHooks(events.hooks())
	b.AddHooks(events.hooks())

	now := time.Now()
	var expired []string
	users := map[string]string{}
	for i := range 23 {
		principal := ""
		if i%3 == 0 {
			principal = "ann"
		}
		_, uuid := login(t, a, principal, now.Add(-time.Hour), now.Add(-time.Minute))
		expired = append(expired, uuid)
		users[uuid] = principal
	}
	for range 4 {
		login(t, a, "", now, now.Add(time.Hour)) // live: never reported
	}
	var revoked []string
	for range 3 {
		_, uuid := login(t, a, "bob", now, now.Add(time.Hour))
		revoked = append(revoked, uuid)
	}
	_, lateRevoke := login(t, a, "cy", now.Add(-time.Hour), now.Add(-time.Second))
	expired = append(expired, lateRevoke)
	users[lateRevoke] = "cy"
	if n, err := sessions.RevokeUserSessions(testCtx(t), a, "bob"); err != nil || n != 3 {
		t.Fatalf("RevokeUserSessions(bob) = %d, %v", n, err)
	}
	if err := sessions.RevokeSession(testCtx(t), a, "cy", lateRevoke); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for _, st := range []*pgstore.Store{a, b} {
		wg.Go(func() {
			for {
				n, err := st.Clean(testCtx(t))
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()

	slices.Sort(expired)
	slices.Sort(revoked)
	if got := events.uuids(sessions.EventExpired); !slices.Equal(got, expired) {
		t.Fatalf("expired %d sessions %q,\nwant %d %q", len(got), got, len(expired), expired)
	}
	if got := events.uuids(sessions.EventRevoked); !slices.Equal(got, revoked) {
		t.Fatalf("revoked %q, want %q", got, revoked)
	}
	events.mu.Lock()
	defer events.mu.Unlock()
	for _, e := range events.events {
		if e.Kind == sessions.EventExpired && e.Principal != users[e.UUID] {
			t.Errorf("expired event %+v, want user %q", e, users[e.UUID])
		}
	}
}

// TestCleanerRedelivers: a batch whose transaction does not commit after
// its events were reported leaves its rows, which the next run reports
// again: an expiry is reported at least once, never lost.
func TestCleanerRedelivers(t *testing.T) {
	store, pool, table := newStore(t)
	now := time.Now()
	_, uuid := login(t, store, "ann", now.Add(-time.Hour), now.Add(-time.Minute))

	ctx, cancel := context.WithCancel(testCtx(t))
	var reported []string
	store.AddHooks(sessions.Hooks{Event: func(_ context.Context, e sessions.Event) {
		reported = append(reported, e.UUID)
		cancel() // as if the process died before the commit
	}})
	if _, err := store.Clean(ctx); err == nil {
		t.Fatal("the cleaning committed although its context ended before the commit")
	}
	if expired, _ := countRows(t, pool, table); expired != 1 {
		t.Fatalf("%d expired rows left after the failed run, want 1", expired)
	}
	if n, err := store.Clean(testCtx(t)); err != nil || n != 1 {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if !slices.Equal(reported, []string{uuid, uuid}) {
		t.Fatalf("reported %q, want the session twice", reported)
	}
}

// TestActiveSessions: the cleaner counts the live sessions once asked to.
func TestActiveSessions(t *testing.T) {
	store, _, _ := newStore(t)
	now := time.Now()
	for range 3 {
		login(t, store, "ann", now, now.Add(time.Hour))
	}
	login(t, store, "ann", now.Add(-time.Hour), now.Add(-time.Minute))
	if n, ok := store.ActiveSessions(); ok {
		t.Fatalf("ActiveSessions = %d before any count", n)
	}
	if _, err := store.Clean(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n, ok := store.ActiveSessions(); !ok || n != 3 {
		t.Fatalf("ActiveSessions = %d, %v; want 3", n, ok)
	}
}
