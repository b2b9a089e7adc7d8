package sessions_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// FuzzUntrustedToken feeds arbitrary cookie and header values to the
// middleware: it must never panic, never serve stored data (every session it could reach holds a key), and never adopt the
// offered value as a session key.
func FuzzUntrustedToken(f *testing.F) {
	for _, seed := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("-", 43), "a=b; c", "\x00\xff", strings.Repeat("z", 5000)} {
		f.Add(seed, seed)
	}
	st := sessions.NewMemoryStore()
	f.Cleanup(func() { _ = st.Close() })
	r := gin.New()
	r.Use(sessions.Middleware(st, sessions.WithHeader("X-Session-Token")))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		if s.Len() != 0 {
			c.String(http.StatusTeapot, "served %v", s.Keys())
			return
		}
		s.Set("n", 1)
		c.String(http.StatusOK, "ok")
	})
	f.Fuzz(func(t *testing.T, cookie, header string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", "sessionid="+cookie)
		req.Header.Set("X-Session-Token", header)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		issued := rec.Header().Get("X-Session-Token")
		if len(issued) != 43 || issued == cookie || issued == header {
			t.Fatalf("issued %q for cookie %q header %q", issued, cookie, header)
		}
		for _, sc := range rec.Result().Cookies() {
			if sc.Value == cookie || sc.Value == header {
				t.Fatalf("cookie %q adopts an offered value", sc.Value)
			}
		}
	})
}
