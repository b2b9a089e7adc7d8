package sqlstore_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
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
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			a, sqldb, table := db.open(t)(t, sqlstore.WithBatch(5))
			b, err := sqlstore.New(testCtx(t), sqldb, dialectOf(db.name), sqlstore.WithTable(table), sqlstore.WithBatch(5))
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
			for _, st := range []*sqlstore.Store{a, b} {
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
			if expiredRows, _ := countRows(t, sqldb, table); expiredRows != 0 {
				t.Fatalf("%d expired rows left", expiredRows)
			}
			events.mu.Lock()
			defer events.mu.Unlock()
			for _, e := range events.events {
				if e.Kind == sessions.EventExpired && e.Principal != users[e.UUID] {
					t.Errorf("expired event %+v, want user %q", e, users[e.UUID])
				}
			}
		})
	}
}

// TestCleanerRedelivers: a batch whose transaction does not commit after
// its events were reported leaves its rows, which the next run reports
// again: an expiry is reported at least once, never lost.
func TestCleanerRedelivers(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, sqldb, table := db.open(t)(t)
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
			if expired, _ := countRows(t, sqldb, table); expired != 1 {
				t.Fatalf("%d expired rows left after the failed run, want 1", expired)
			}
			if n, err := store.Clean(testCtx(t)); err != nil || n != 1 {
				t.Fatalf("second run: %d, %v", n, err)
			}
			if !slices.Equal(reported, []string{uuid, uuid}) {
				t.Fatalf("reported %q, want the session twice", reported)
			}
		})
	}
}

// TestActiveSessions: the cleaner counts the live sessions once asked to.
func TestActiveSessions(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
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
		})
	}
}

// TestStoreName: the store names itself after its dialect in StoreOp.
func TestStoreName(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
			want := map[string]string{"SQLite": "sqlite", "MariaDB": "mysql"}[db.name]
			if got := store.StoreName(); got != want {
				t.Fatalf("StoreName() = %q, want %q", got, want)
			}
		})
	}
}

// TestCappedLoginRevokesThroughGin: under WithMaxSessionsPerUser(1), a
// second login of a user through gin revokes the first session, which the
// hooks hear of once as revoked and never as expired, and every store call
// names the store after its dialect.
func TestCappedLoginRevokesThroughGin(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
			var (
				events sink
				mu     sync.Mutex
				names  = map[string]bool{}
			)
			h := events.hooks()
			h.StoreStart = func(ctx context.Context, op sessions.StoreOp) context.Context {
				mu.Lock()
				names[op.Store] = true
				mu.Unlock()
				return ctx
			}
			r := engine(store, sessions.WithHooks(h), sessions.WithMaxSessionsPerUser(1))
			r.GET("/login", func(c *gin.Context) {
				sessions.Default(c).Login("ann")
				c.String(http.StatusOK, "in")
			})
			laptop := sessionCookie(t, get(r, "/login", nil))
			sessionCookie(t, get(r, "/login", nil))
			if w := get(r, "/new", laptop); w.Code != http.StatusOK {
				t.Fatalf("the revoked laptop's request: %d", w.Code)
			}
			loggedIn := events.uuids(sessions.EventLoggedIn)
			if len(loggedIn) != 2 {
				t.Fatalf("logged in %q, want two sessions", loggedIn)
			}
			if _, err := store.Clean(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			events.mu.Lock()
			var revoked []string
			for _, e := range events.events {
				switch e.Kind {
				case sessions.EventRevoked:
					revoked = append(revoked, e.UUID)
				case sessions.EventExpired:
					t.Errorf("expired event %+v", e)
				}
			}
			events.mu.Unlock()
			if len(revoked) != 1 || !slices.Contains(loggedIn, revoked[0]) {
				t.Fatalf("revoked %q, want one of the sessions logged in, %q", revoked, loggedIn)
			}
			want := map[string]string{"SQLite": "sqlite", "MariaDB": "mysql"}[db.name]
			mu.Lock()
			defer mu.Unlock()
			if len(names) != 1 || !names[want] {
				t.Fatalf("store calls named %v, want only %q", names, want)
			}
		})
	}
}
