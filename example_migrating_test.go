package sessions_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// The "after" programs of MIGRATING.md. Each block the guide shows is a
// verbatim part of one of these functions (TestMigratingGuideMatchesExamples
// checks it), and each function runs, so the guide cannot rot.

// browser drives an engine the way a browser would: it keeps the cookies
// the engine sets, Secure ones included, and sends them back.
type browser struct {
	h   http.Handler
	jar *cookiejar.Jar
}

var browserURL, _ = url.Parse("https://example.com/")

func newBrowser(h http.Handler) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return &browser{h: h, jar: jar}
}

// get requests path and returns the response; form, when given, is posted.
func (b *browser) get(path string, form ...string) *httptest.ResponseRecorder {
	method, body := http.MethodGet, ""
	if len(form) > 0 {
		method, body = http.MethodPost, form[0]
	}
	req := httptest.NewRequest(method, browserURL.String()+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range b.jar.Cookies(browserURL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	b.jar.SetCookies(browserURL, rec.Result().Cookies())
	return rec
}

// gin-contrib/sessions' memstore example, moved over: the counter reads
// with GetInt and needs no Save.
func Example_migratingFromGinContribMemstore() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("mysession")))

	r.GET("/incr", func(c *gin.Context) {
		session := sessions.Default(c)
		count := 0
		if session.Has("count") {
			count = session.GetInt("count") + 1
		}
		session.Set("count", count)
		c.JSON(http.StatusOK, gin.H{"count": count})
	})

	b := newBrowser(r)
	for range 3 {
		fmt.Println(b.get("/incr").Body.String())
	}
	// Output:
	// {"count":0}
	// {"count":1}
	// {"count":2}
}

// gin-contrib/sessions' cookie store example, moved over: the data now
// lives on the server and the cookie holds a random token.
func Example_migratingFromGinContribCookie() {
	store := sessions.NewMemoryStore() // or sessions.NewRedisStore(rdb)
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("mysession")))

	r.GET("/hello", func(c *gin.Context) {
		session := sessions.Default(c)
		if session.GetString("hello") != "world" {
			session.Set("hello", "world")
		}
		c.JSON(http.StatusOK, gin.H{"hello": session.GetString("hello")})
	})

	b := newBrowser(r)
	fmt.Println(b.get("/hello").Body.String())
	fmt.Println(len(b.jar.Cookies(browserURL)[0].Value), "characters in the cookie")
	// Output:
	// {"hello":"world"}
	// 43 characters in the cookie
}

// gin-contrib/sessions' SessionsMany and DefaultMany: one Middleware per
// session, each with its own cookie name and context key.
func Example_migratingFromGinContribMany() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("a"), sessions.WithContextKey("a")))
	r.Use(sessions.Middleware(store, sessions.WithCookieName("b"), sessions.WithContextKey("b")))

	r.GET("/hello", func(c *gin.Context) {
		sessionA := c.MustGet("a").(*sessions.Session)
		sessionB := c.MustGet("b").(*sessions.Session)
		sessionA.Set("hello", "world!")
		sessionB.Set("hello", "world?")
		c.JSON(http.StatusOK, gin.H{"a": sessionA.GetString("hello"), "b": sessionB.GetString("hello")})
	})

	b := newBrowser(r)
	fmt.Println(b.get("/hello").Body.String())
	fmt.Println(len(b.jar.Cookies(browserURL)), "cookies")
	// Output:
	// {"a":"world!","b":"world?"}
	// 2 cookies
}

// Values come back decoded from JSON: a struct as a map, an int64 as an
// int, a time as a string. The typed getters and Value give the types back,
// with no gob.Register.
func Example_migratingFromGinContribTypes() {
	type User struct {
		Name  string
		Admin bool
	}

	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("user", User{Name: "ada", Admin: true})
		session.Set("id", int64(42))
		session.Set("since", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		session.Set("tags", []string{"a", "b"})

		// Before: session.Get("user").(User) and friends. Here they panic.
		fmt.Printf("%T %T %T %T\n", session.Get("user"), session.Get("id"), session.Get("since"), session.Get("tags"))

		user, _ := sessions.Value[User](session, "user")
		tags, _ := sessions.Value[[]string](session, "tags")
		id := session.GetInt64("id")
		since := session.GetTime("since")
		fmt.Println(user.Name, user.Admin, id, since.Year(), tags)
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output:
	// map[string]interface {} int string []interface {}
	// ada true 42 2026 [a b]
}

// Login, logout and the session's public handle: CycleKey at login, Flush
// where gin-contrib/sessions set Options{MaxAge: -1}, UUID in the logs
// rather than ID, which is the secret token.
func Example_migratingFromGinContribLogout() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("mysession")))

	r.POST("/login", func(c *gin.Context) {
		session := sessions.Default(c)
		session.CycleKey() // a new token at login: no session fixation
		session.Set("user", c.PostForm("name"))
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		session := sessions.Default(c)
		log.Printf("session %s: user %q", session.UUID(), session.GetString("user"))
		c.String(http.StatusOK, "user %q", session.GetString("user"))
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush() // data, record and token gone; the cookie is expired
		c.Redirect(http.StatusSeeOther, "/")
	})

	log.SetOutput(io.Discard) // the log line holds a random UUID
	defer log.SetOutput(os.Stderr)
	b := newBrowser(r)
	b.get("/login", "name=ada")
	fmt.Println(b.get("/").Body.String())
	logout := b.get("/logout", "")
	fmt.Println(logout.Header().Get("Set-Cookie")[:len("mysession=;")])
	fmt.Println(b.get("/").Body.String(), store.Len(), "sessions stored")
	// Output:
	// user "ada"
	// mysession=;
	// user "" 0 sessions stored
}

// gin-contrib/sessions' Options become middleware options. Its stores made
// a persistent cookie of 30 days; this keeps that, with HttpOnly and
// SameSite=Lax on by default. A session's own Options{MaxAge: n} is
// SetExpiry.
func Example_migratingFromGinContribOptions() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store,
		sessions.WithCookieName("mysession"),
		sessions.WithExpireAtBrowserClose(false), // a persistent cookie, as MaxAge > 0 made
		sessions.WithCookieAge(30*24*time.Hour),  // MaxAge: 86400 * 30
	))

	r.GET("/remember", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("user", "ada")
		if c.Query("short") != "" {
			session.SetExpiry(time.Hour) // session.Options(sessions.Options{MaxAge: 3600})
		}
		c.Status(http.StatusNoContent)
	})

	for _, path := range []string{"/remember", "/remember?short=1"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		ck, _ := http.ParseSetCookie(rec.Header().Get("Set-Cookie"))
		fmt.Println(ck.MaxAge, ck.HttpOnly, ck.SameSite == http.SameSiteLaxMode)
	}
	// Output:
	// 2592000 true true
	// 3600 true true
}

// Clear, or deleting the last key, ends the session: its record is deleted
// and its cookie expired, where gin-contrib/sessions kept an empty one.
func Example_migratingFromGinContribClear() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/set", func(c *gin.Context) { sessions.Default(c).Set("k", "v") })
	r.GET("/clear", func(c *gin.Context) { sessions.Default(c).Clear() })

	b := newBrowser(r)
	b.get("/set")
	fmt.Println(store.Len(), "session stored")
	rec := b.get("/clear")
	fmt.Println(store.Len(), "sessions stored;", strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0"))
	// Output:
	// 1 session stored
	// 0 sessions stored; true
}
