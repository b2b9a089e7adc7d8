package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// allocsPerRequest measures the allocations of one request of each kind
// (untouched, read, counter) through an engine on a memory store.
func allocsPerRequest(t *testing.T, opts ...sessions.Option) map[string]float64 {
	st := sessions.NewMemoryStore()
	t.Cleanup(func() { st.Close() })
	r := gin.New()
	r.Use(sessions.Middleware(st, opts...))
	r.GET("/untouched", func(c *gin.Context) { c.String(http.StatusOK, "untouched") })
	r.GET("/read", func(c *gin.Context) { c.String(http.StatusOK, sessions.Default(c).GetString("greeting")) })
	r.GET("/counter", func(c *gin.Context) {
		s := sessions.Default(c)
		n := s.GetInt("n") + 1
		s.Set("n", n)
		c.String(http.StatusOK, "%d", n)
	})
	r.GET("/start", func(c *gin.Context) { sessions.Default(c).Set("greeting", "Hello"); c.Status(http.StatusOK) })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/start", nil))
	cookie := w.Result().Cookies()[0]

	out := map[string]float64{}
	for _, path := range []string{"/untouched", "/read", "/counter"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if path != "/untouched" {
			req.AddCookie(cookie)
		}
		out[path] = testing.AllocsPerRun(200, func() {
			r.ServeHTTP(discardWriter{h: http.Header{}}, req)
		})
	}
	return out
}

// discardWriter is a response writer that keeps nothing but fresh headers.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { clear(w.h); return w.h }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}

// TestAllocsWithoutHooks: a middleware without hooks allocates what it did
// before hooks existed (the numbers measured on the code before them), so
// the seam costs nothing unused. It lives here, where tests run without the
// race detector, whose builds allocate a varying amount more.
func TestAllocsWithoutHooks(t *testing.T) {
	// Measured on the code before hooks, with this very test.
	want := map[string]float64{"/untouched": 6, "/read": 10, "/counter": 14}
	got := allocsPerRequest(t)
	for path, n := range want {
		if got[path] != n {
			t.Errorf("%s: %v allocations per request, want %v", path, got[path], n)
		}
	}
	t.Logf("without hooks: %v", got)
	noop := sessions.Hooks{
		Event:      func(context.Context, sessions.Event) {},
		StoreStart: func(ctx context.Context, _ sessions.StoreOp) context.Context { return ctx },
		StoreDone:  func(context.Context, sessions.StoreOp, time.Duration, error) {},
	}
	t.Logf("with no-op hooks: %v", allocsPerRequest(t, sessions.WithHooks(noop)))
}
