package sessions_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// TestFromContextWithContextKey: a net/http handler finds the session of
// a middleware that uses WithContextKey, from the request's context and
// from the gin.Context.
func TestFromContextWithContextKey(t *testing.T) {
	r := newEngine(newMemoryStore(t), []sessions.Option{sessions.WithContextKey("admin"), sessions.WithCookieName("adminid")}, func(r *gin.Engine) {
		r.GET("/wrapped", gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := sessions.FromContext(r.Context())
			if !ok {
				http.Error(w, "no session", http.StatusInternalServerError)
				return
			}
			s.Set("from", "wrapped")
			_, _ = io.WriteString(w, "ok")
		})))
		r.GET("/gin", func(c *gin.Context) {
			s, ok := sessions.FromContext(c)
			if !ok {
				c.String(http.StatusInternalServerError, "no session")
				return
			}
			c.String(http.StatusOK, "%v", s.Get("from"))
		})
	})
	browser := newClient(t, r)
	if rec := browser.get("/wrapped"); rec.Code != http.StatusOK {
		t.Fatalf("/wrapped: %d %q", rec.Code, rec.Body)
	}
	if rec := browser.get("/gin"); rec.Code != http.StatusOK || rec.Body.String() != "wrapped" {
		t.Fatalf("/gin: %d %q, want 200 \"wrapped\"", rec.Code, rec.Body)
	}
}

// TestHandleContextBehindDerivedContext: gin's HandleContext sends the
// request through the chain again after a middleware replaced the
// request's context (c.Request.WithContext, as timeout and tracing
// middlewares do), before or after the session middleware, and with two
// session middlewares: the inner run keeps the request's sessions.
func TestHandleContextBehindDerivedContext(t *testing.T) {
	type ctxMark struct{}
	derive := func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(context.WithValue(c.Request.Context(), ctxMark{}, true), time.Minute)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
	store := newMemoryStore(t)
	admin := []sessions.Option{sessions.WithContextKey("admin"), sessions.WithCookieName("adminid")}
	tests := []struct {
		name        string
		middlewares []gin.HandlerFunc
		keys        []string
	}{
		{"derived before", []gin.HandlerFunc{derive, sessions.Middleware(store)}, []string{sessions.ContextKey}},
		{"derived after", []gin.HandlerFunc{sessions.Middleware(store), derive}, []string{sessions.ContextKey}},
		{"two session middlewares", []gin.HandlerFunc{sessions.Middleware(store), sessions.Middleware(store, admin...)}, []string{sessions.ContextKey, "admin"}},
		{"two session middlewares, derived between", []gin.HandlerFunc{sessions.Middleware(store), derive, sessions.Middleware(store, admin...)}, []string{sessions.ContextKey, "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.Use(tt.middlewares...)
			session := func(c *gin.Context, key string) *sessions.Session { return c.MustGet(key).(*sessions.Session) }
			r.GET("/start", func(c *gin.Context) {
				for _, k := range tt.keys {
					session(c, k).Set("a", "before")
				}
				c.Request.URL.Path = "/end"
				r.HandleContext(c)
			})
			r.GET("/end", func(c *gin.Context) {
				for _, k := range tt.keys {
					session(c, k).Set("b", "after")
				}
				c.String(http.StatusOK, "ok")
			})
			r.GET("/show", func(c *gin.Context) {
				var out []string
				for _, k := range tt.keys {
					s := session(c, k)
					out = append(out, fmt.Sprintf("%v,%v", s.Get("a"), s.Get("b")))
				}
				c.String(http.StatusOK, "%s", strings.Join(out, " "))
			})
			browser := newClient(t, r)
			if rec := browser.get("/start"); rec.Code != http.StatusOK {
				t.Fatalf("/start: %d %q", rec.Code, rec.Body)
			}
			want := strings.TrimSpace(strings.Repeat("before,after ", len(tt.keys)))
			if got := body(t, browser, http.MethodGet, "/show"); got != want {
				t.Fatalf("after HandleContext: %q, want %q", got, want)
			}
		})
	}
}

// TestRedisSaveThenCommitKeepsIndex: after Login and Save(), the commit
// checks the early save; that check moves the record's expiry, and must
// move its user's index's too, so that the index never dies before a
// session it holds.
func TestRedisSaveThenCommitKeepsIndex(t *testing.T) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) {
			client := b.start(t)
			rdb := client(t)
			prefix := testPrefix(t, rdb)
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
			var (
				mu  sync.Mutex
				now = time.Now()
			)
			clock := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			}
			r := newEngine(store, []sessions.Option{sessions.WithClock(clock), sessions.WithExpireAtBrowserClose(false)}, func(r *gin.Engine) {
				userRoutes(store)(r)
				r.POST("/login-save", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Login("ann")
					if err := s.Save(); err != nil {
						t.Errorf("Save: %v", err)
					}
					// A slow answer: the commit comes an hour later.
					mu.Lock()
					now = now.Add(time.Hour)
					mu.Unlock()
					c.String(http.StatusOK, "ok")
				})
			})
			browser := newClient(t, r)
			if rec := browser.do(http.MethodPost, "/login-save"); rec.Code != http.StatusOK {
				t.Fatalf("login: %d %q", rec.Code, rec.Body)
			}
			record, index := userKeys(t, store, prefix, "ann", browser)
			recAt, idxAt := rdb.PExpireTime(t.Context(), record).Val(), rdb.PExpireTime(t.Context(), index).Val()
			if recAt <= 0 || idxAt < recAt+sessions.RedisUserIndexMargin {
				t.Errorf("the record expires at %v, its index at %v: the index must outlive the record by %v", recAt, idxAt, sessions.RedisUserIndexMargin)
			}
			if n, err := sessions.RevokeUserSessions(t.Context(), store, "ann"); n != 1 || err != nil {
				t.Errorf("RevokeUserSessions = %d, %v; want 1, nil", n, err)
			}
		})
	}
}
