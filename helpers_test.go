package sessions_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

func init() {
	gin.SetMode(gin.ReleaseMode)
}

var siteURL, _ = url.Parse("http://example.com/")

// client is a browser stand-in: it keeps cookies in a real cookie jar and
// sends requests straight to an engine.
type client struct {
	t      *testing.T
	h      http.Handler
	jar    *cookiejar.Jar
	header http.Header // sent with every request
}

func newClient(t *testing.T, h http.Handler) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, h: h, jar: jar, header: http.Header{}}
}

// do sends a request and returns the recorded response, storing its cookies.
func (c *client) do(method, path string, body ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	var r io.Reader
	if len(body) > 0 {
		r = strings.NewReader(body[0])
	}
	req := httptest.NewRequest(method, siteURL.String()+strings.TrimPrefix(path, "/"), r)
	if r != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for _, ck := range c.jar.Cookies(siteURL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	c.jar.SetCookies(siteURL, rec.Result().Cookies())
	return rec
}

func (c *client) get(path string) *httptest.ResponseRecorder { return c.do(http.MethodGet, path) }

// cookie returns the value of the named cookie the client holds.
func (c *client) cookie(name string) string {
	for _, ck := range c.jar.Cookies(siteURL) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// newEngine returns an engine with the middleware on store and the routes
// that setup adds.
func newEngine(store sessions.Store, opts []sessions.Option, setup func(r *gin.Engine)) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Middleware(store, opts...))
	setup(r)
	return r
}

// setCookies returns the response's Set-Cookie headers.
func setCookies(rec *httptest.ResponseRecorder) []string {
	return rec.Result().Header.Values("Set-Cookie")
}

// countingStore is a real store that also counts the calls it receives and
// remembers the ids it was given.
type countingStore struct {
	sessions.Store
	mu                           sync.Mutex
	loads, saves, deletes, touch int
	ids                          []string
}

func (s *countingStore) note(id string, n *int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*n++
	s.ids = append(s.ids, id)
}

func (s *countingStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	s.note(id, &s.loads)
	return s.Store.Load(ctx, id)
}

func (s *countingStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	s.note(id, &s.saves)
	return s.Store.Save(ctx, id, ch)
}

func (s *countingStore) Delete(ctx context.Context, id string) (bool, error) {
	s.note(id, &s.deletes)
	return s.Store.Delete(ctx, id)
}

func (s *countingStore) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	s.note(id, &s.touch)
	return s.Store.Touch(ctx, id, seen, expires)
}

// calls returns the number of calls of each kind so far.
func (s *countingStore) calls() (loads, saves, deletes, touches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads, s.saves, s.deletes, s.touch
}

// failingStore is a real store whose saves (and optionally loads) fail with
// the given error, as a store that is down or broken would.
type failingStore struct {
	sessions.Store
	saveErr, loadErr error
}

func (s *failingStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	if s.loadErr != nil {
		return sessions.Record{}, false, s.loadErr
	}
	return s.Store.Load(ctx, id)
}

func (s *failingStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	if s.saveErr != nil {
		return s.saveErr
	}
	return s.Store.Save(ctx, id, ch)
}

// clock is a settable time source shared by the middleware and the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// clockedStore returns a memory store and a middleware option that share a
// settable clock.
func clockedStore(t *testing.T) (*sessions.MemoryStore, *clock, sessions.Option) {
	st := newMemoryStore(t)
	clk := newClock()
	sessions.SetMemoryClock(st, clk.Now)
	return st, clk, sessions.WithClock(clk.Now)
}

// kvRoutes adds the routes most tests use: /set?k=…&v=… stores a string,
// /get?k=… prints it (or "<none>"), /touch reads nothing but the session's
// emptiness, /none never touches the session.
func kvRoutes(r *gin.Engine) {
	r.GET("/set", func(c *gin.Context) {
		sessions.Default(c).Set(c.Query("k"), c.Query("v"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/get", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", sessions.Default(c).Get(c.Query("k"), "<none>"))
	})
	r.GET("/del", func(c *gin.Context) {
		sessions.Default(c).Delete(c.Query("k"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/clear", func(c *gin.Context) {
		sessions.Default(c).Clear()
		c.String(http.StatusOK, "ok")
	})
	r.GET("/flush", func(c *gin.Context) {
		sessions.Default(c).Flush()
		c.String(http.StatusOK, "ok")
	})
	r.GET("/cycle", func(c *gin.Context) {
		sessions.Default(c).CycleKey()
		c.String(http.StatusOK, "ok")
	})
	r.GET("/none", func(c *gin.Context) {
		c.String(http.StatusOK, "plain")
	})
}

// cookieHeader returns the single Set-Cookie header of rec, failing the
// test when there is not exactly one.
func cookieHeader(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	sc := setCookies(rec)
	if len(sc) != 1 {
		t.Fatalf("Set-Cookie headers = %q, want exactly one", sc)
	}
	return sc[0]
}

// tokenOf extracts the value of the session cookie from a Set-Cookie line.
func tokenOf(setCookie string) string {
	v, _, _ := strings.Cut(setCookie, ";")
	_, v, _ = strings.Cut(v, "=")
	return v
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// readBody returns a response's body as a string.
func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// faultStore is a real store that fails the next calls of a kind, as a
// store that goes down for a moment would: each counter is the number of
// upcoming calls of that kind to fail with ErrUnavailable.
type faultStore struct {
	sessions.Store
	mu                        sync.Mutex
	loadFaults, saveFaults    int
	deleteFaults, touchFaults int
}

var errInjected = fmt.Errorf("injected fault: %w", sessions.ErrUnavailable)

// fault reports whether this call fails, using up one fault of n.
func (s *faultStore) fault(n *int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func (s *faultStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	if s.fault(&s.loadFaults) {
		return sessions.Record{}, false, errInjected
	}
	return s.Store.Load(ctx, id)
}

func (s *faultStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	if s.fault(&s.saveFaults) {
		return errInjected
	}
	return s.Store.Save(ctx, id, ch)
}

func (s *faultStore) Delete(ctx context.Context, id string) (bool, error) {
	if s.fault(&s.deleteFaults) {
		return false, errInjected
	}
	return s.Store.Delete(ctx, id)
}

func (s *faultStore) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	if s.fault(&s.touchFaults) {
		return errInjected
	}
	return s.Store.Touch(ctx, id, seen, expires)
}

// errorsOf returns a middleware, to install before the session's, that
// copies each request's c.Errors into *errs when the chain is done.
func errorsOf(errs *[]string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		*errs = c.Errors.Errors()
	}
}
