package sessions_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// namedStore is a store that a test runs on, by name.
type namedStore struct {
	name string
	open func(t *testing.T) sessions.Store
}

// bothStores are the memory store and a real Redis server, each store
// under a key prefix of the test's own.
var bothStores = []namedStore{
	{"memory", func(t *testing.T) sessions.Store { return newMemoryStore(t) }},
	{"redis", func(t *testing.T) sessions.Store {
		rdb := closeAtEnd(t, redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}))
		return sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb)))
	}},
}

// plantValue stores a session holding key with the given JSON text, as
// another program might have written it, and returns its token.
func plantValue(t *testing.T, st sessions.Store, key, raw string) string {
	t.Helper()
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	ch := sessions.Change{New: true, Set: map[string]string{key: raw}, UUID: "u", Created: now, Saved: now, Expires: now.Add(time.Hour)}
	if err := st.Save(context.Background(), sessions.StoreID(token), ch); err != nil {
		t.Fatal(err)
	}
	return token
}

// intRoutes answers /int?k=… with GetInt, GetFloat64 and Get of the key,
// /incr?k=…&d=… with Incr, and /set-max-incr with Set then Incr in one
// request.
func intRoutes(r *gin.Engine) {
	kvRoutes(r)
	r.GET("/int", func(c *gin.Context) {
		s := sessions.Default(c)
		k := c.Query("k")
		c.String(http.StatusOK, "%d %v %v", s.GetInt64(k), s.GetFloat64(k), s.Get(k))
	})
	r.GET("/incr", func(c *gin.Context) {
		d, _ := strconv.ParseInt(c.Query("d"), 10, 64)
		c.String(http.StatusOK, "%d", sessions.Default(c).Incr(c.Query("k"), d))
	})
	r.GET("/set-max-incr", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("n", int64(math.MaxInt64))
		c.String(http.StatusOK, "%d", s.Incr("n", 1))
	})
}

func TestIncrPastInt64FailsOnEveryStore(t *testing.T) {
	for _, ns := range bothStores {
		t.Run(ns.name, func(t *testing.T) {
			st := ns.open(t)
			r := newEngine(st, nil, intRoutes)
			cl := newClient(t, r)
			cl.jar.SetCookies(siteURL, []*http.Cookie{{Name: "sessionid", Value: plantValue(t, st, "n", strconv.FormatInt(math.MaxInt64, 10))}})
			for _, d := range []string{"1", "9223372036854775807"} {
				if rec := cl.get("/incr?k=n&d=" + d); rec.Code != http.StatusInternalServerError {
					t.Fatalf("Incr(+%s) of MaxInt64: %d %q, want 500", d, rec.Code, rec.Body)
				}
			}
			if got := cl.get("/int?k=n").Body.String(); got != "9223372036854775807 9.223372036854776e+18 9223372036854775807" {
				t.Fatalf("after the failed Incr: %q", got)
			}
			fresh := newClient(t, r)
			if rec := fresh.get("/set-max-incr"); rec.Code != http.StatusInternalServerError || len(setCookies(rec)) != 0 {
				t.Fatalf("Set(MaxInt64) then Incr: %d, cookies %q; want 500 and nothing saved", rec.Code, setCookies(rec))
			}
		})
	}
}

func TestFloatNotationIsNotAnInteger(t *testing.T) {
	for _, ns := range bothStores {
		t.Run(ns.name, func(t *testing.T) {
			st := ns.open(t)
			cl := newClient(t, newEngine(st, nil, intRoutes))
			cl.jar.SetCookies(siteURL, []*http.Cookie{{Name: "sessionid", Value: plantValue(t, st, "n", "3.0")}})
			if got := cl.get("/int?k=n").Body.String(); got != "0 3 3" {
				t.Fatalf("GetInt64, GetFloat64, Get of 3.0: %q, want 0 3 3", got)
			}
			if rec := cl.get("/incr?k=n&d=1"); rec.Code != http.StatusInternalServerError {
				t.Fatalf("Incr of 3.0: %d %q, want 500", rec.Code, rec.Body)
			}
			if got := cl.get("/int?k=n").Body.String(); got != "0 3 3" {
				t.Fatalf("after the failed Incr: %q", got)
			}
		})
	}
}
