package sessions_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// checkPrefix fails t when msg does not start with "sessions: " or says it
// more than once.
func checkPrefix(t *testing.T, what, msg string) {
	t.Helper()
	if !strings.HasPrefix(msg, "sessions: ") || strings.Count(msg, "sessions:") != 1 {
		t.Errorf("%s: %q: want one \"sessions: \" prefix, at the start", what, msg)
	}
}

// storeErrors makes the errors a store wraps: a save of a record that is
// gone, an increment of a value that is not an integer and one that
// overflows.
func storeErrors(t *testing.T, store sessions.Store) map[string]error {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	id := newID(t)
	out := map[string]error{}
	out["save of a deleted record"] = store.Save(ctx, id, sessions.Change{Saved: now, Expires: now.Add(time.Hour), Set: map[string]string{"a": "1"}})
	mustNot(t, store.Save(ctx, id, sessions.Change{New: true, Saved: now, Expires: now.Add(time.Hour), UUID: "00000000-0000-4000-8000-000000000000",
		Set: map[string]string{"s": `"text"`, "big": "9223372036854775807"}}), "Save(New)")
	out["increment of a string"] = store.Save(ctx, id, sessions.Change{Saved: now, Expires: now.Add(time.Hour), Incr: map[string]int64{"s": 1}})
	out["increment past int64"] = store.Save(ctx, id, sessions.Change{Saved: now, Expires: now.Add(time.Hour), Incr: map[string]int64{"big": 1}})
	return out
}

// TestNoDoubledPrefix: every exported error, every error the memory and
// Redis stores wrap, and the errors a request records in c.Errors say
// "sessions: " once.
func TestNoDoubledPrefix(t *testing.T) {
	for _, err := range []error{sessions.ErrUnavailable, sessions.ErrInterrupted, sessions.ErrNotInteger, sessions.ErrNotSupported} {
		checkPrefix(t, "exported error", err.Error())
	}

	rdb := closeAtEnd(t, redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}))
	stores := map[string]sessions.Store{
		"memory": newMemoryStore(t),
		"redis":  sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb))),
	}
	for name, store := range stores {
		for what, err := range storeErrors(t, store) {
			if err == nil {
				t.Errorf("%s: %s: no error", name, what)
				continue
			}
			checkPrefix(t, name+": "+what, err.Error())
		}
	}
	down := closeAtEnd(t, redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}))
	_, _, err := sessions.NewRedisStore(down).Load(context.Background(), newID(t))
	if !errors.Is(err, sessions.ErrUnavailable) {
		t.Fatalf("Load from a Redis that is down: %v", err)
	}
	checkPrefix(t, "redis down", err.Error())

	// What requests record, through gin, on the memory store.
	var errs []string
	r := gin.New()
	r.Use(errorsOf(&errs))
	r.Use(sessions.Middleware(newMemoryStore(t)))
	kvRoutes(r)
	r.GET("/incr", func(c *gin.Context) {
		sessions.Default(c).Incr("a", 1)
		c.String(http.StatusOK, "ok")
	})
	r.GET("/bad", func(c *gin.Context) {
		sessions.Default(c).Set("bad", make(chan int))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/cycle-late", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(http.StatusOK, "sent")
		s.CycleKey()
		s.Set("late", "x")
	})
	cl := newClient(t, r)
	cl.get("/set?k=a&v=x")
	for _, path := range []string{"/incr", "/bad", "/cycle-late"} {
		errs = nil
		cl.get(path)
		if len(errs) == 0 {
			t.Errorf("%s: nothing in c.Errors", path)
		}
		for _, e := range errs {
			checkPrefix(t, path, e)
		}
	}
}
