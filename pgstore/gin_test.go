package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/jackc/pgx/v5"
)

func init() { gin.SetMode(gin.TestMode) }

// queryCounter is a pgx tracer that counts the statements sent.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}

func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// engine is the tutorial's site on store: a greeting written by /new, read
// by /read, a visit counter at /counter, a logout (/flush), a login
// (/cycle), an Update of a cart (/append) and a flash (/flash), and a page
// that never looks at the session.
func engine(store sessions.Store, opts ...sessions.Option) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Middleware(store, opts...))
	r.GET("/untouched", func(c *gin.Context) { c.String(http.StatusOK, "untouched") })
	r.GET("/new", func(c *gin.Context) {
		sessions.Default(c).Set("greeting", "Hello, Gin Sessions!")
		c.String(http.StatusOK, "new")
	})
	r.GET("/read", func(c *gin.Context) {
		c.String(http.StatusOK, sessions.Default(c).GetString("greeting"))
	})
	r.GET("/flush", func(c *gin.Context) {
		sessions.Default(c).Flush()
		c.String(http.StatusOK, "flushed")
	})
	r.GET("/cycle", func(c *gin.Context) {
		sessions.Default(c).CycleKey()
		c.String(http.StatusOK, "cycled")
	})
	r.GET("/counter", func(c *gin.Context) {
		s := sessions.Default(c)
		n := s.GetInt("num_visits") + 1
		s.Set("num_visits", n)
		c.String(http.StatusOK, strconv.Itoa(n))
	})
	// Update and AddFlash, which save on a condition.
	r.GET("/append", func(c *gin.Context) {
		if _, err := sessions.Update(sessions.Default(c), "cart", func(old []string, _ bool) ([]string, error) {
			return append(old, c.Query("item")), nil
		}); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
		}
	})
	r.GET("/flash", func(c *gin.Context) { sessions.Default(c).AddFlash(c.Query("msg")) })
	return r
}

// get serves one GET of path with cookie (nil for none).
func get(h http.Handler, path string, cookie *http.Cookie) *httptest.ResponseRecorder {
	return getCtx(context.Background(), h, path, cookie)
}

func getCtx(ctx context.Context, h http.Handler, path string, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// sessionCookie is the session cookie that w set, or fails t.
func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == "sessionid" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session cookie in %q (status %d, body %q)", w.Header().Values("Set-Cookie"), w.Code, w.Body.String())
	return nil
}

// rowID is the id the store files the session of cookie under.
func rowID(cookie *http.Cookie) string {
	sum := sha256.Sum256([]byte(cookie.Value))
	return hex.EncodeToString(sum[:])
}

// TestQueriesPerRequest counts the statements each request costs through
// gin: none for a request that never touches its session, cookie or not;
// one SELECT to read; a SELECT and an UPDATE for the counter; one INSERT for
// a new session; a SELECT and a DELETE to log out (Flush); a SELECT, an
// INSERT and a DELETE to log in (CycleKey); with an idle timeout, a SELECT
// and a touch to read; and for an Update or a flash, which save on a
// condition, a SELECT and an UPDATE, as the counter's Set does.
func TestQueriesPerRequest(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		opts       []sessions.Option
		withCookie bool
		queries    int64
	}{
		{"untouched", "/untouched", nil, false, 0},
		{"untouched with a cookie", "/untouched", nil, true, 0},
		{"read", "/read", nil, true, 1},
		{"counter", "/counter", nil, true, 2},
		{"new", "/new", nil, false, 1},
		{"flush", "/flush", nil, true, 2},
		{"cycle key", "/cycle", nil, true, 3},
		{"read with an idle timeout", "/read", []sessions.Option{sessions.WithIdleTimeout(time.Hour)}, true, 2},
		{"update", "/append?item=x", nil, true, 2},
		{"add a flash", "/flash?msg=m", nil, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter := &queryCounter{}
			store, _, _ := newStoreOn(t, newPool(t, needServer(t), counter))
			h := engine(store, tt.opts...)
			const n = 5
			for i := range n {
				var cookie *http.Cookie
				if tt.withCookie {
					// A session of its own for each request, as Flush
					// and CycleKey end the one they were given.
					cookie = sessionCookie(t, get(h, "/new", nil))
				}
				before := counter.n.Load()
				w := get(h, tt.path, cookie)
				if w.Code != http.StatusOK {
					t.Fatalf("request %d: %d %q", i+1, w.Code, w.Body.String())
				}
				if got := counter.n.Load() - before; got != tt.queries {
					t.Fatalf("request %d: %d statements, want %d", i+1, got, tt.queries)
				}
			}
		})
	}
}
