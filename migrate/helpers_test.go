package migrate_test

import (
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

var site, _ = url.Parse("https://example.com/")

// browser keeps the cookies an app sets, Secure ones included, and sends
// them back. It does not follow redirects, so that tests see them.
type browser struct {
	jar *cookiejar.Jar
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil) // fails only on bad options
	return &browser{jar: jar}
}

// do sends method path to h with the browser's cookies and keeps the
// cookies of the response; form, when given, is the request's form body.
func (b *browser) do(h http.Handler, method, path string, form ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, site.String()+strings.TrimPrefix(path, "/"), strings.NewReader(strings.Join(form, "&")))
	if len(form) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range b.jar.Cookies(site) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b.jar.SetCookies(site, rec.Result().Cookies())
	return rec
}

// cookie returns the value of the named cookie the browser holds.
func (b *browser) cookie(name string) string {
	for _, ck := range b.jar.Cookies(site) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// cookies returns the names of the cookies the browser holds.
func (b *browser) cookies() []string {
	var names []string
	for _, ck := range b.jar.Cookies(site) {
		names = append(names, ck.Name)
	}
	return names
}

// User is a struct that old sessions stored (registered with gob).
type User struct {
	Name  string
	Admin bool
}

// newApp is the site after the switch: the new middleware, the transition,
// and a page that shows what the session holds. runs counts the page's
// runs.
func newApp(store sessions.Store, cookie string, transition gin.HandlerFunc, runs *int) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName(cookie)), transition)
	r.GET("/account", func(c *gin.Context) {
		*runs++
		s := sessions.Default(c)
		user, _ := sessions.Value[User](s, "user")
		c.String(http.StatusOK, "%s %v %d %v", user.Name, user.Admin, s.GetInt("visits"), s.Flashes())
	})
	r.GET("/visit", func(c *gin.Context) {
		sessions.Default(c).Incr("visits", 1)
	})
	r.GET("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush()
	})
	return r
}

// moveOnce checks the first request after the switch: a 307 to the same
// URL, the handler not run, the new cookie set; then it follows the
// redirect and returns the page.
func moveOnce(t *testing.T, b *browser, app http.Handler, newCookie string, runs *int) string {
	t.Helper()
	rec := b.do(app, http.MethodGet, "/account?tab=1")
	if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != "./account?tab=1" {
		t.Fatalf("first request: %d, Location %q, body %q; want 307 to ./account?tab=1", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	if *runs != 0 {
		t.Fatal("the handler ran on the request that moved the session")
	}
	if len(b.cookie(newCookie)) != 43 {
		t.Fatalf("no new session cookie after the move: %v", rec.Header().Values("Set-Cookie"))
	}
	rec = b.do(app, http.MethodGet, "/account?tab=1")
	if rec.Code != http.StatusOK || *runs != 1 {
		t.Fatalf("repeated request: %d (%q), %d handler runs", rec.Code, rec.Body.String(), *runs)
	}
	return rec.Body.String()
}

// hasPrefixAny reports whether s starts with one of prefixes.
func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
