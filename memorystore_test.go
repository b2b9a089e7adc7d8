package sessions_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newMemoryStore(t *testing.T, opts ...sessions.MemoryOption) *sessions.MemoryStore {
	t.Helper()
	st := sessions.NewMemoryStore(opts...)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestMemoryStoreConformance(t *testing.T) {
	sessionstest.Run(t, func(t *testing.T) sessions.Store { return newMemoryStore(t) })
}

func TestMemoryStoreMiddlewareConformance(t *testing.T) {
	sessionstest.RunMiddleware(t, func(t *testing.T) sessions.Store { return newMemoryStore(t) })
}

func TestMemoryStoreEvictsClosestToExpiry(t *testing.T) {
	// The bound counts records across all shards.
	st := newMemoryStore(t, sessions.WithMaxSessions(64))
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, 0, 200)
	for i := range 200 {
		id := sessionstest.NewID()
		ids = append(ids, id)
		ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
			Created: now, Saved: now, Expires: now.Add(time.Hour + time.Duration(i)*time.Second)}
		if err := st.Save(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Len(); n > 64 {
		t.Fatalf("store holds %d records, bound is 64", n)
	}
	// The last record saved expires last of all, so it always survives.
	if _, found, _ := st.Load(ctx, ids[len(ids)-1]); !found {
		t.Fatal("the newest record was evicted")
	}
}

func TestMemoryStoreJanitorRemovesExpired(t *testing.T) {
	st := newMemoryStore(t, sessions.WithCleanupInterval(5*time.Millisecond))
	ctx := context.Background()
	now := time.Now()
	for i := range 10 {
		ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
			Created: now, Saved: now, Expires: now.Add(time.Duration(i) * time.Millisecond)}
		if err := st.Save(ctx, sessionstest.NewID(), ch); err != nil {
			t.Fatal(err)
		}
	}
	live := sessionstest.NewID()
	ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
		Created: now, Saved: now, Expires: now.Add(time.Hour)}
	if err := st.Save(ctx, live, ch); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.Len() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor left %d records, want 1", st.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, found, _ := st.Load(ctx, live); !found {
		t.Fatal("janitor removed a live record")
	}
}

func TestMemoryStoreCloseIsIdempotent(t *testing.T) {
	st := sessions.NewMemoryStore()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryStoreOptionsPanic(t *testing.T) {
	for name, fn := range map[string]func(){
		"max 0":      func() { sessions.WithMaxSessions(0) },
		"interval 0": func() { sessions.WithCleanupInterval(0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			fn()
		})
	}
}

func TestMemoryStoreBoundIsExact(t *testing.T) {
	const bound = 1000
	st := newMemoryStore(t, sessions.WithMaxSessions(bound))
	ctx := context.Background()
	now := time.Now()
	for i := range 3 * bound {
		ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
			Created: now, Saved: now, Expires: now.Add(time.Hour + time.Duration(i)*time.Millisecond)}
		if err := st.Save(ctx, sessionstest.NewID(), ch); err != nil {
			t.Fatal(err)
		}
		if i < bound && st.Len() != i+1 {
			t.Fatalf("below the bound the store holds %d of %d records", st.Len(), i+1)
		}
	}
	if st.Len() != bound {
		t.Fatalf("store holds %d records, bound is %d", st.Len(), bound)
	}
}

func TestMemoryStoreFarFutureExpiry(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sessions.Option
		path string
	}{
		{"SetExpiry(MaxInt64)", nil, "/forever"},
		{"WithCookieAge(250 years)", []sessions.Option{sessions.WithCookieAge(250 * 365 * 24 * time.Hour)}, "/set?k=a&v=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(t, newEngine(newMemoryStore(t), tc.opts, func(r *gin.Engine) {
				kvRoutes(r)
				r.GET("/forever", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Set("a", 1)
					s.SetExpiry(math.MaxInt64)
					c.String(http.StatusOK, "ok")
				})
			}))
			cl.get(tc.path)
			if got := cl.get("/get?k=a").Body.String(); got != "1" {
				t.Fatalf("the session expired at once: a = %q", got)
			}
		})
	}
}

func TestMemoryStoreNeverEvictsTheSessionItSaves(t *testing.T) {
	t.Run("one slot", func(t *testing.T) {
		st := newMemoryStore(t, sessions.WithMaxSessions(1))
		r := newEngine(st, nil, func(r *gin.Engine) {
			kvRoutes(r)
			r.GET("/hour", func(c *gin.Context) {
				s := sessions.Default(c)
				s.Set("a", "A")
				s.SetExpiry(time.Hour)
				c.String(http.StatusOK, "ok")
			})
		})
		a, b := newClient(t, r), newClient(t, r)
		a.get("/hour")        // A expires in an hour
		b.get("/set?k=a&v=B") // B in 14 days: A goes
		if got := b.get("/get?k=a").Body.String(); got != "B" {
			t.Fatalf("the session just saved was evicted: %q", got)
		}
		if got := a.get("/get?k=a").Body.String(); got != "<none>" {
			t.Fatalf("the session closest to expiry was kept: %q", got)
		}
	})
	t.Run("small bound", func(t *testing.T) {
		// Every new session outlives the ones before it, so each must
		// survive until its next request.
		st := newMemoryStore(t, sessions.WithMaxSessions(8))
		r := newEngine(st, nil, kvRoutes)
		for i := range 200 {
			cl := newClient(t, r)
			cl.get("/set?k=a&v=x")
			if got := cl.get("/get?k=a").Body.String(); got != "x" {
				t.Fatalf("new session %d gone before its next request", i)
			}
			if st.Len() > 8 {
				t.Fatalf("the store holds %d sessions, bound 8", st.Len())
			}
		}
	})
}
