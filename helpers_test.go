package sessions_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
