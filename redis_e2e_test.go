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
	prefix := testPrefix(t, rdb)
	sessionstest.Run(t, func(t *testing.T) sessions.Store {
		return sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	})
}

// testRedisMiddlewareConformance runs the middleware suite with a key
// prefix of its own for each case.
func testRedisMiddlewareConformance(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	sessionstest.RunMiddleware(t, func(t *testing.T) sessions.Store {
		_, store := testStore(t, client)
		return store
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

// newSave is the one round trip that saves a new session: a transaction.
const newSave = "MULTI+HSET+HLEN+PEXPIREAT+EXEC"

// txSave is the one round trip that saves a change with no Incr to a stored
// session: a transaction.
const txSave = "MULTI+HMGET+HDEL+HSET+PEXPIREAT+EXEC"

// testRedisRequests counts the Redis round trips, and their commands, that
// each kind of request costs through a real gin engine: what docs/redis.md
// promises. A pipeline's commands are joined by "+".
func testRedisRequests(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	tests := []struct {
		name  string
		opts  []sessions.Option
		steps []struct{ path, body, commands string }
	}{
		{name: "default settings", steps: []struct{ path, body, commands string }{
			{"/none", "plain", ""},
			{"/count", "1", newSave}, // no cookie yet: nothing to load
			{"/none", "plain", ""},
			{"/count", "2", "HGETALL EVALSHA"},
			{"/get?k=count", "2", "HGETALL"},
			{"/set?k=name&v=Ada", "ok", "HGETALL " + txSave},
			{"/cycle", "ok", "HGETALL DEL " + newSave},
			{"/get?k=name", "Ada", "HGETALL"},
			{"/flush", "ok", "HGETALL DEL"},
			{"/get?k=name", "<none>", ""}, // the cookie is gone
		}},
		{name: "idle timeout", opts: []sessions.Option{sessions.WithIdleTimeout(time.Hour)}, steps: []struct{ path, body, commands string }{
			{"/count", "1", newSave},
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
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb)))
			browser := newClient(t, newEngine(store, tt.opts, counterRoutes))
			for _, step := range tt.steps {
				rt.take()
				rec := browser.get(step.path)
				trips := rt.take()
				if rec.Code != http.StatusOK || rec.Body.String() != step.body {
					t.Errorf("GET %s = %d %q, want 200 %q", step.path, rec.Code, rec.Body, step.body)
				}
				if got := strings.Join(trips, " "); got != step.commands {
					t.Errorf("GET %s: %d round trips [%s], want [%s]", step.path, len(trips), got, step.commands)
				}
			}
		})
	}
}

// testRedisRequestEdges covers what reaches a visitor when the record is
// corrupted or deleted by a concurrent request.
func testRedisRequestEdges(t *testing.T, newRedis func(t *testing.T) redis.UniversalClient) {
	rdb := newRedis(t)
	prefix := testPrefix(t, rdb)
	logger, logs := newLogger()
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix), sessions.WithRedisLogger(logger))
	engine := newEngine(store, nil, func(r *gin.Engine) {
		counterRoutes(r)
		// A concurrent logout, between this request's load and its save.
		r.GET("/logout-meanwhile", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Get("count")
			token, _ := c.Cookie("sessionid")
			_, err := store.Delete(c, sessions.StoreID(token))
			mustNot(t, err, "delete")
			s.Set("after", "logout")
			c.String(http.StatusOK, "ok")
		})
	})
	key := func(b *client) string { return sessions.RedisKey(prefix, sessions.StoreID(b.cookie("sessionid"))) }

	t.Run("corrupted record gives a new session", func(t *testing.T) {
		browser := newClient(t, engine)
		browser.get("/count")
		old := key(browser)
		mustNot(t, rdb.HSet(t.Context(), old, "count", "{not json").Err(), "corrupting")
		if rec := browser.get("/count"); rec.Code != http.StatusOK || rec.Body.String() != "1" {
			t.Errorf("/count on a corrupted record = %d %q, want 200 1 (a new session)", rec.Code, rec.Body)
		}
		if key(browser) == old {
			t.Error("the corrupted record's token was kept")
		}
		if !strings.Contains(logs.String(), old) {
			t.Errorf("the corruption of %s was not logged: %q", old, logs.String())
		}
	})

	t.Run("deleted meanwhile gives 400 and no record", func(t *testing.T) {
		browser := newClient(t, engine)
		browser.get("/count")
		old := key(browser)
		if rec := browser.get("/logout-meanwhile"); rec.Code != http.StatusBadRequest {
			t.Errorf("a save after a concurrent logout = %d, want 400", rec.Code)
		}
		if n := rdb.Exists(t.Context(), old).Val(); n != 0 {
			t.Errorf("the deleted record was brought back: %v", rdb.HGetAll(t.Context(), old).Val())
		}
	})
}
