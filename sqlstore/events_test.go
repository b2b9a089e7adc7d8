package sqlstore_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
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

// TestCleanerConformance runs the kit's cleaner suite on each database,
// with two stores that clean one table together, in batches of five.
func TestCleanerConformance(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			sessionstest.RunCleaner(t, func(t *testing.T) (a, b sessionstest.Cleaner) {
				first, sqldb, table := open(t, sqlstore.WithBatch(5))
				second, err := sqlstore.New(testCtx(t), sqldb, dialectOf(db.name), sqlstore.WithTable(table), sqlstore.WithBatch(5))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { second.Close() })
				count := func(t *testing.T) (int, int) { return countRows(t, sqldb, table) }
				return sessionstest.Cleaner{Store: first, Clean: first.Clean, Count: count},
					sessionstest.Cleaner{Store: second, Clean: second.Clean, Count: count}
			})
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
