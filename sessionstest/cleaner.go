package sessionstest

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
)

// Cleaner is one process's cleaner of a store that deletes expired records
// in batches and reports each as sessions.EventExpired before its batch
// commits.
type Cleaner struct {
	// Store is the store the cleaner belongs to; the hooks added to it
	// hear the events.
	Store interface {
		sessions.UserStore
		sessions.EventSource
	}
	// Clean runs one batch and returns how many expired records it
	// deleted: 0 once none are left. A batch whose context ends after
	// its events were reported must fail and delete nothing.
	Clean func(ctx context.Context) (int64, error)
	// Count, when not nil, counts the records the store holds: those
	// past their expiry, which Load no longer finds, and the live ones.
	Count func(t *testing.T) (expired, live int)
}

// RunCleaner checks the expiry events of a store's cleaner. newCleaners
// is called once per subtest and returns two cleaners of one set of
// records, as two processes on one database have:
//
//   - CleanerEvents: the two cleaning together report every expired
//     session, anonymous or logged in, with its user, and no live one; a
//     revoked session reports EventRevoked and never EventExpired, and an
//     expired one that a revocation finds is left to the cleaner, which
//     reports it as expired.
//   - CleanerRedelivers: a batch that does not commit after its events
//     were reported leaves its records, which the next batch reports
//     again: an expiry is reported at least once, never lost.
//   - ActiveSessions, when the store has a method ActiveSessions() (int64,
//     bool) that reports the live sessions its cleaner last counted: none
//     before a cleaning, the live ones after.
func RunCleaner(t *testing.T, newCleaners func(t *testing.T) (a, b Cleaner)) {
	t.Helper()
	t.Run("CleanerEvents", func(t *testing.T) { testCleanerEvents(t, newCleaners) })
	t.Run("CleanerRedelivers", func(t *testing.T) { testCleanerRedelivers(t, newCleaners) })
	t.Run("ActiveSessions", func(t *testing.T) { testActiveSessions(t, newCleaners) })
}

// activeCounter is a store whose cleaner counts the live sessions.
type activeCounter interface {
	ActiveSessions() (n int64, ok bool)
}

// testActiveSessions: the cleaner counts the live sessions once asked to.
func testActiveSessions(t *testing.T, newCleaners func(t *testing.T) (a, b Cleaner)) {
	a, _ := newCleaners(t)
	counter, ok := a.Store.(activeCounter)
	if !ok {
		t.Skip("the store does not count its live sessions (no ActiveSessions method)")
	}
	now := time.Now()
	ann := newPrincipal("ann")
	for range 3 {
		saveSession(t, a.Store, ann, now, now.Add(time.Hour))
	}
	saveSession(t, a.Store, ann, now.Add(-time.Hour), now.Add(-time.Minute))
	if n, ok := counter.ActiveSessions(); ok {
		t.Fatalf("ActiveSessions = %d before any count", n)
	}
	if _, err := a.Clean(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n, ok := counter.ActiveSessions(); !ok || n != 3 {
		t.Fatalf("ActiveSessions = %d, %v; want 3", n, ok)
	}
}

// expiryLog records the events of the cleaner test: the UUIDs of each
// kind, and each expired event whose user is not the session's.
type expiryLog struct {
	users map[string]string // UUID → the session's user; read-only once cleaning starts

	mu    sync.Mutex
	seen  map[sessions.EventKind]map[string]bool
	wrong []sessions.Event
}

func (l *expiryLog) event(_ context.Context, e sessions.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[e.Kind] == nil {
		l.seen[e.Kind] = map[string]bool{}
	}
	l.seen[e.Kind][e.UUID] = true
	if e.Kind == sessions.EventExpired && e.Principal != l.users[e.UUID] {
		l.wrong = append(l.wrong, e)
	}
}

// uuids returns the UUIDs of the events of kind, sorted.
func (l *expiryLog) uuids(kind sessions.EventKind) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.seen[kind]))
}

// saveSession saves a new session of principal ("" for none), last seen
// at seen and expiring at expires, and returns its UUID.
func saveSession(t *testing.T, st sessions.Store, principal string, seen, expires time.Time) string {
	t.Helper()
	id := NewID()
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, UUID: "uuid-" + id[:12],
		Created: seen, Saved: seen, Expires: expires,
		Principal: principal, IP: "192.0.2.7", UserAgent: "Browser/1.0"}
	if err := st.Save(ctx(t), id, ch); err != nil {
		t.Fatalf("Save(New, %q): %v", principal, err)
	}
	return ch.UUID
}

func testCleanerEvents(t *testing.T, newCleaners func(t *testing.T) (a, b Cleaner)) {
	a, b := newCleaners(t)
	users := map[string]string{}
	events := &expiryLog{users: users, seen: map[sessions.EventKind]map[string]bool{}}
	a.Store.AddHooks(sessions.Hooks{Event: events.event})
	b.Store.AddHooks(sessions.Hooks{Event: events.event})

	now := time.Now()
	ann, bob, cy := newPrincipal("ann"), newPrincipal("bob"), newPrincipal("cy")
	var expired []string
	for i := range 23 {
		principal := ""
		if i%3 == 0 {
			principal = ann
		}
		uuid := saveSession(t, a.Store, principal, now.Add(-time.Hour), now.Add(-time.Minute))
		expired = append(expired, uuid)
		users[uuid] = principal
	}
	for range 4 {
		saveSession(t, a.Store, "", now, now.Add(time.Hour)) // live: never reported
	}
	var revoked []string
	for range 3 {
		revoked = append(revoked, saveSession(t, a.Store, bob, now, now.Add(time.Hour)))
	}
	lateRevoke := saveSession(t, a.Store, cy, now.Add(-time.Hour), now.Add(-time.Second))
	expired = append(expired, lateRevoke)
	users[lateRevoke] = cy
	if n, err := sessions.RevokeUserSessions(ctx(t), a.Store, bob); err != nil || n != 3 {
		t.Fatalf("RevokeUserSessions(bob) = %d, %v", n, err)
	}
	if err := sessions.RevokeSession(ctx(t), a.Store, cy, lateRevoke); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for _, c := range []Cleaner{a, b} {
		wg.Go(func() {
			for {
				n, err := c.Clean(ctx(t))
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
	if a.Count != nil {
		if expired, live := a.Count(t); expired != 0 || live != 4 {
			t.Fatalf("after cleaning the store holds %d expired and %d live records, want 0 and the 4 live sessions", expired, live)
		}
	}
	for _, e := range events.wrong {
		t.Errorf("expired event %+v, want user %q", e, users[e.UUID])
	}
}

func testCleanerRedelivers(t *testing.T, newCleaners func(t *testing.T) (a, b Cleaner)) {
	a, _ := newCleaners(t)
	now := time.Now()
	uuid := saveSession(t, a.Store, newPrincipal("ann"), now.Add(-time.Hour), now.Add(-time.Minute))

	cleaning, cancel := context.WithCancel(ctx(t))
	var reported []string
	a.Store.AddHooks(sessions.Hooks{Event: func(_ context.Context, e sessions.Event) {
		reported = append(reported, e.UUID)
		cancel() // as if the process died before the commit
	}})
	if _, err := a.Clean(cleaning); err == nil {
		t.Fatal("the cleaning committed although its context ended before the commit")
	}
	if a.Count != nil {
		if expired, _ := a.Count(t); expired != 1 {
			t.Fatalf("%d expired records left after the failed run, want 1", expired)
		}
	}
	if n, err := a.Clean(ctx(t)); err != nil || n != 1 {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if !slices.Equal(reported, []string{uuid, uuid}) {
		t.Fatalf("reported %q, want the session twice", reported)
	}
}
