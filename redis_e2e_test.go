package sessions_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

func testRedisConformance(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	rdb := client(t)
	prefix := testPrefix(t)
	sessionstest.Run(t, func(t *testing.T) sessions.Store {
		return sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	})
}

// warmScripts puts the store's scripts in every server's cache, as the first
// saves after a start do, so that counts show the steady state.
func warmScripts(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	for _, src := range sessions.RedisScripts() {
		mustNot(t, rdb.ScriptLoad(t.Context(), src).Err(), "SCRIPT LOAD")
	}
}

// counterRoutes adds /count, which increments a counter in the session,
// to the routes of kvRoutes.
func counterRoutes(r *gin.Engine) {
	kvRoutes(r)
	r.GET("/count", func(c *gin.Context) {
		c.String(http.StatusOK, "%d", sessions.Default(c).Incr("count", 1))
	})
}

// testRedisRequests counts the Redis commands that each kind of request costs
// through a real gin engine: what the README promises.
func testRedisRequests(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	tests := []struct {
		name  string
		opts  []sessions.Option
		steps []struct{ path, body, commands string }
	}{
		{name: "default settings", steps: []struct{ path, body, commands string }{
			{"/none", "plain", ""},
			{"/count", "1", "EVALSHA"}, // no cookie yet: nothing to load
			{"/none", "plain", ""},
			{"/count", "2", "HGETALL EVALSHA"},
			{"/get?k=count", "2", "HGETALL"},
			{"/set?k=name&v=Ada", "ok", "HGETALL EVALSHA"},
			{"/cycle", "ok", "HGETALL EVALSHA DEL"},
			{"/get?k=name", "Ada", "HGETALL"},
			{"/flush", "ok", "HGETALL DEL"},
			{"/get?k=name", "<none>", ""}, // the cookie is gone
		}},
		{name: "idle timeout", opts: []sessions.Option{sessions.WithIdleTimeout(time.Hour)}, steps: []struct{ path, body, commands string }{
			{"/count", "1", "EVALSHA"},
			{"/get?k=count", "1", "HGETALL EVALSHA"}, // a read refreshes the idle timeout by Touch
			{"/count", "2", "HGETALL EVALSHA"},       // a save moves it anyway: no Touch
			{"/none", "plain", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := client(t)
			warmScripts(t, rdb)
			rt := countRoundTrips(rdb)
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t)))
			browser := newClient(t, newEngine(store, tt.opts, counterRoutes))
			for _, step := range tt.steps {
				rt.take()
				rec := browser.get(step.path)
				trips, cmds := rt.take()
				if rec.Code != http.StatusOK || rec.Body.String() != step.body {
					t.Errorf("GET %s = %d %q, want 200 %q", step.path, rec.Code, rec.Body, step.body)
				}
				if got := strings.Join(cmds, " "); got != step.commands || trips != len(cmds) {
					t.Errorf("GET %s: %d round trips [%s], want [%s]", step.path, trips, got, step.commands)
				}
			}
		})
	}
}
