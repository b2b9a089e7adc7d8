package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

func init() { gin.SetMode(gin.TestMode) }

// engine is the tutorial's site on store: a greeting written by /new, read
// by /read, a visit counter at /counter, an atomic one at /incr, and a
// page that never looks at the session.
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
	r.GET("/counter", func(c *gin.Context) {
		s := sessions.Default(c)
		n := s.GetInt("num_visits") + 1
		s.Set("num_visits", n)
		c.String(http.StatusOK, strconv.Itoa(n))
	})
	r.GET("/incr", func(c *gin.Context) {
		c.String(http.StatusOK, strconv.FormatInt(sessions.Default(c).Incr("hits", 1), 10))
	})
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
func sessionCookie(t testing.TB, w *httptest.ResponseRecorder) *http.Cookie {
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
