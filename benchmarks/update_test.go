package benchmarks

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// cartRoutes add to r two ways of appending to a list in the session: by
// hand (read, append, Set), which loses items to concurrent requests, and
// with sessions.Update, which does not.
func cartRoutes(r *gin.Engine) {
	r.GET("/cart-set", func(c *gin.Context) {
		s := sessions.Default(c)
		cart, _ := sessions.Value[[]string](s, "cart")
		s.Set("cart", append(cart, "item"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/cart-update", func(c *gin.Context) {
		_, err := sessions.Update(sessions.Default(c), "cart", func(old []string, _ bool) ([]string, error) {
			return append(old, "item"), nil
		})
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, "ok")
	})
}

// TestUpdateCostsNoMoreThanSet: without contention, a request that appends
// to a list with Update costs what one that does it with Set costs: the
// same store calls on memory, the same Redis round trips, the same
// PostgreSQL statements and round trips (one load, one save).
func TestUpdateCostsNoMoreThanSet(t *testing.T) {
	tests := []struct {
		name  string
		mount func(t *testing.T, r *gin.Engine) (env *redisEnv, calls func() int64, h handlers)
	}{
		{"ours-memory", func(t *testing.T, r *gin.Engine) (*redisEnv, func() int64, handlers) {
			store := &countingStore{Store: sessions.NewMemoryStore()}
			t.Cleanup(func() { store.Store.(*sessions.MemoryStore).Close() })
			return nil, store.calls.Load, mountOurs(r, store)
		}},
		{"ours-redis", func(t *testing.T, r *gin.Engine) (*redisEnv, func() int64, handlers) {
			env := newRedisEnv(t)
			return env, nil, mountOurs(r, sessions.NewRedisStore(env.goRedis(t)))
		}},
		{"ours-postgres", func(t *testing.T, r *gin.Engine) (*redisEnv, func() int64, handlers) {
			env := newPostgresEnv(t)
			return env, nil, mountOurs(r, oursPostgresStore(t, env))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			env, calls, h := tt.mount(t, r)
			r.GET("/new", h.newSession)
			cartRoutes(r)
			cookie := newSession(t, system{name: tt.name}, r)
			cost := map[string]tally{}
			for _, path := range []string{"/cart-set", "/cart-update", "/cart-set", "/cart-update"} {
				// The first request of each warms it up (a script's first
				// load into Redis, a statement's preparation).
				if rec := serve(r, request(path, cookie)); rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
				}
				const n = 5
				m := startMeter(t, env)
				before := int64(0)
				if calls != nil {
					before = calls()
				}
				for range n {
					if rec := serve(r, request(path, cookie)); rec.Code != http.StatusOK {
						t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
					}
				}
				res := m.stop(t, n)
				got := tally{trips: res.redis.trips / n, statements: res.redis.statements / n}
				if calls != nil {
					got.trips = (calls() - before) / n
				}
				cost[path] = got
			}
			set, update := cost["/cart-set"], cost["/cart-update"]
			t.Logf("per request: Set %d round trips (store calls on memory), %d statements; Update %d, %d",
				set.trips, set.statements, update.trips, update.statements)
			if update.trips > set.trips || update.statements > set.statements || set.trips != 2 {
				t.Fatalf("Update costs %+v a request, Set %+v: want no more, and 2 round trips", update, set)
			}
		})
	}
}
