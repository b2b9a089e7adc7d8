package benchmarks

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// The per-user rows measure this library alone: neither gin-contrib/sessions
// nor scs can list or end a user's sessions.

// userSystem is one of this library's stores, for the per-user rows.
type userSystem struct {
	name  string
	redis bool
	open  func(tb testing.TB, env *redisEnv) sessions.Store
}

var userSystems = []userSystem{
	{name: "ours-memory", open: func(tb testing.TB, _ *redisEnv) sessions.Store {
		st := sessions.NewMemoryStore()
		tb.Cleanup(func() { st.Close() })
		return st
	}},
	{name: "ours-redis", redis: true, open: func(tb testing.TB, env *redisEnv) sessions.Store {
		return sessions.NewRedisStore(env.goRedis(tb))
	}},
}

// userSessionsPerUser is how many sessions the user of the listing and
// revoke-all rows has.
const userSessionsPerUser = 10

// start opens the system's store, on a Redis of its own view for a Redis
// system, and returns a prefix for the run's user names: the Redis server
// outlives a run.
func (u userSystem) start(tb testing.TB) (sessions.Store, *redisEnv, string) {
	var env *redisEnv
	if u.redis {
		env = newRedisEnv(tb)
	}
	return u.open(tb, env), env, rand.Text()[:10] + "-"
}

// loginEngine answers POST /login?user=… with Login, and GET /counter and
// /read as the other rows do.
func loginEngine(store sessions.Store) *gin.Engine {
	r := gin.New()
	h := mountOurs(r, store)
	r.POST("/login", func(c *gin.Context) {
		sessions.Default(c).Login(c.Query("user"))
		c.String(http.StatusOK, "in")
	})
	r.GET("/counter", h.counter)
	r.GET("/read", h.read)
	r.GET("/untouched", func(c *gin.Context) { c.String(http.StatusOK, "untouched") })
	return r
}

// login signs user in on a visitor without a cookie and returns the
// session's cookie.
func login(tb testing.TB, h http.Handler, user string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login?user="+user, nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("login as %s: %d %s", user, rec.Code, rec.Body)
	}
	return cookieOf(tb, rec)
}

// trips reads the round trips made so far; 0 for a memory store.
func trips(env *redisEnv) int64 {
	if env == nil {
		return 0
	}
	return env.w.trips.Load()
}

func reportTrips(b *testing.B, u userSystem, n int, trips int64) {
	if u.redis && n > 0 {
		b.ReportMetric(float64(trips)/float64(n), "rtt/op")
	}
}

// BenchmarkUserLogin: a visitor logs in (Session.Login), a new user each
// time: the new record and its entry in the user's index.
func BenchmarkUserLogin(b *testing.B) {
	for _, u := range userSystems {
		b.Run(u.name, func(b *testing.B) {
			store, env, users := u.start(b)
			h := loginEngine(store)
			login(b, h, users+"warm-up") // the tag key, the scripts
			b.ReportAllocs()
			before, n := trips(env), 0
			for b.Loop() {
				login(b, h, users+strconv.Itoa(n))
				n++
			}
			reportTrips(b, u, n, trips(env)-before)
		})
	}
}

// BenchmarkUserLoginCapped: a visitor logs in as a user who is signed in
// on three devices already, under WithMaxSessionsPerUser(3): the new record,
// its entry in the index and the revocation of the least recently seen
// session, one atomic step.
func BenchmarkUserLoginCapped(b *testing.B) {
	for _, u := range userSystems {
		b.Run(u.name, func(b *testing.B) {
			store, env, users := u.start(b)
			r := gin.New()
			r.Use(sessions.Middleware(store, sessions.WithMaxSessionsPerUser(3)))
			r.POST("/login", func(c *gin.Context) {
				sessions.Default(c).Login(c.Query("user"))
				c.String(http.StatusOK, "in")
			})
			for range 3 {
				login(b, r, users+"ada") // the tag key, the scripts, the sessions
			}
			b.ReportAllocs()
			before, n := trips(env), 0
			for b.Loop() {
				login(b, r, users+"ada")
				n++
			}
			reportTrips(b, u, n, trips(env)-before)
		})
	}
}

// BenchmarkUserList10: UserSessions of a user signed in on ten devices.
func BenchmarkUserList10(b *testing.B) {
	for _, u := range userSystems {
		b.Run(u.name, func(b *testing.B) {
			store, env, users := u.start(b)
			h := loginEngine(store)
			for range userSessionsPerUser {
				login(b, h, users+"ada")
			}
			ctx := context.Background()
			b.ReportAllocs()
			before, n := trips(env), 0
			for b.Loop() {
				infos, err := sessions.UserSessions(ctx, store, users+"ada")
				if err != nil || len(infos) != userSessionsPerUser {
					b.Fatalf("UserSessions = %d sessions, %v", len(infos), err)
				}
				n++
			}
			reportTrips(b, u, n, trips(env)-before)
		})
	}
}

// BenchmarkUserRevokeAll: RevokeUserSessions of a user signed in on ten
// devices. Signing them in is not timed.
func BenchmarkUserRevokeAll(b *testing.B) {
	for _, u := range userSystems {
		b.Run(u.name, func(b *testing.B) {
			store, env, users := u.start(b)
			h := loginEngine(store)
			ctx := context.Background()
			b.ReportAllocs()
			var spent int64
			n := 0
			for b.Loop() {
				b.StopTimer()
				user := users + strconv.Itoa(n)
				for range userSessionsPerUser {
					login(b, h, user)
				}
				before := trips(env)
				b.StartTimer()
				ended, err := sessions.RevokeUserSessions(ctx, store, user)
				spent += trips(env) - before
				if err != nil || ended != userSessionsPerUser {
					b.Fatalf("RevokeUserSessions = %d, %v", ended, err)
				}
				n++
			}
			reportTrips(b, u, n, spent)
		})
	}
}

// TestUserRoundTrips checks the round trips the per-user rows report, and
// that a logged-in user's requests cost what an anonymous visitor's do.
// Each step runs twice and counts the second run: the first one may load a
// script into the server's cache.
func TestUserRoundTrips(t *testing.T) {
	store, env, users := userSystems[1].start(t)
	h := loginEngine(store)
	ctx := context.Background()
	ada := users + "ada"
	cookie := login(t, h, ada)
	for _, tc := range []struct {
		name  string
		want  int64
		setup func(t *testing.T) // not counted
		do    func(t *testing.T)
	}{
		{"login", 1, nil, func(t *testing.T) { login(t, h, ada) }},
		{"untouched", 0, nil, func(t *testing.T) { serve(h, request("/untouched", cookie)) }},
		{"read", 1, nil, func(t *testing.T) { serve(h, request("/read", cookie)) }},
		{"counter", 2, nil, func(t *testing.T) {
			if rec := serve(h, request("/counter", cookie)); rec.Code != http.StatusOK {
				t.Fatalf("counter: %d %s", rec.Code, rec.Body)
			}
		}},
		{"list", 1, nil, func(t *testing.T) {
			if _, err := sessions.UserSessions(ctx, store, ada); err != nil {
				t.Fatalf("UserSessions: %v", err)
			}
		}},
		{"revoke all", 1, func(t *testing.T) {
			for range userSessionsPerUser {
				login(t, h, users+"bob")
			}
		}, func(t *testing.T) {
			if n, err := sessions.RevokeUserSessions(ctx, store, users+"bob"); err != nil || n != userSessionsPerUser {
				t.Fatalf("RevokeUserSessions = %d, %v", n, err)
			}
		}},
	} {
		for run := range 2 {
			if tc.setup != nil {
				tc.setup(t)
			}
			before := trips(env)
			tc.do(t)
			if got := trips(env) - before; run == 1 && got != tc.want {
				t.Errorf("%s: %d round trips, want %d", tc.name, got, tc.want)
			}
		}
	}
}
