package migrate_test

import (
	"context"
	"encoding/gob"
	"net/http"
	"strings"
	"testing"
	"time"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-contrib/sessions/memstore"
	ginredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
	gorilla "github.com/gorilla/sessions"
	goredis "github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
	"github.com/ginsessions/sessions/migrate"
)

func init() {
	gob.Register(User{})
}

var secret = []byte("0123456789abcdef0123456789abcdef")

// oldGinContribApp is the site before the switch: gin-contrib/sessions'
// middleware and a login that stores what gin-contrib users store.
func oldGinContribApp(store ginsessions.Store, cookie string) *gin.Engine {
	r := gin.New()
	r.Use(ginsessions.Sessions(cookie, store))
	r.GET("/login", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Set("user", User{Name: "ada", Admin: true})
		s.Set("visits", 3)
		s.AddFlash("welcome")
		if v := c.Query("extra"); v != "" {
			s.Set("extra", complex(1, 2)) // gob stores it; JSON cannot
		}
		_ = s.Save()
	})
	r.GET("/whoami", func(c *gin.Context) {
		u, _ := ginsessions.Default(c).Get("user").(User)
		c.String(http.StatusOK, u.Name)
	})
	return r
}

// ginContribStores are gin-contrib/sessions' three stores of the guide.
// The Redis one runs on a server of its own.
var ginContribStores = []struct {
	name       string
	serverSide bool
	start      func(t *testing.T) ginsessions.Store
}{
	{"cookie", false, func(t *testing.T) ginsessions.Store { return cookie.NewStore(secret) }},
	{"memstore", true, func(t *testing.T) ginsessions.Store { return memstore.NewStore(secret) }},
	{"redis", true, func(t *testing.T) ginsessions.Store {
		st, err := ginredis.NewStore(10, "tcp", redistest.Start(t).Addr, "", "", secret)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

func TestFromGinContrib(t *testing.T) {
	for _, old := range ginContribStores {
		for _, newCookie := range []string{"sessionid", "mysession"} {
			t.Run(old.name+", new cookie "+newCookie, func(t *testing.T) {
				oldStore := old.start(t)
				b := newBrowser()
				b.do(oldGinContribApp(oldStore, "mysession"), http.MethodGet, "/login")
				oldValue := b.cookie("mysession")
				if oldValue == "" {
					t.Fatal("the old app set no cookie")
				}

				store := sessions.NewMemoryStore()
				defer store.Close()
				runs := 0
				app := newApp(store, newCookie, migrate.FromGinContrib(oldStore, "mysession"), &runs)
				if got := moveOnce(t, b, app, newCookie, &runs); got != "ada true 3 [welcome]" {
					t.Fatalf("moved session shows %q", got)
				}
				if names := b.cookies(); len(names) != 1 || names[0] != newCookie {
					t.Fatalf("the browser holds %v, want only %s", names, newCookie)
				}
				if got := b.do(app, http.MethodGet, "/account").Body.String(); got != "ada true 3 []" {
					t.Fatalf("next request shows %q", got)
				}

				// The old session is gone: its cookie, replayed, brings
				// nothing back. A cookie store's cookie holds its data, so
				// it stays readable until it expires, as it did before.
				replay := newBrowser()
				replay.jar.SetCookies(site, []*http.Cookie{{Name: "mysession", Value: oldValue}})
				rec := replay.do(app, http.MethodGet, "/account")
				if old.serverSide && (rec.Code != http.StatusOK || rec.Body.String() != " false 0 []") {
					t.Fatalf("replayed old cookie: %d %q", rec.Code, rec.Body.String())
				}

				b.do(app, http.MethodGet, "/logout")
				if got := b.do(app, http.MethodGet, "/account").Body.String(); got != " false 0 []" {
					t.Fatalf("after logout: %q", got)
				}
			})
		}
	}
}

// The transition reads the old store only for a request that carries an
// old cookie: not without one, and not for a new session's token under the
// same name.
func TestFromGinContribCostsNothingWithoutAnOldCookie(t *testing.T) {
	counted := &countingGorillaStore{Store: memstore.NewStore(secret)}
	store := sessions.NewMemoryStore()
	defer store.Close()
	runs := 0
	app := newApp(store, "mysession", migrate.FromGinContrib(counted, "mysession"), &runs)
	b := newBrowser()
	for _, path := range []string{"/account", "/visit", "/account", "/account"} {
		if rec := b.do(app, http.MethodGet, path); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
	}
	if len(b.cookie("mysession")) != 43 || counted.news != 0 {
		t.Fatalf("new cookie %q, %d reads of the old store; want a token and none", b.cookie("mysession"), counted.news)
	}
	b.jar.SetCookies(site, []*http.Cookie{{Name: "mysession", Value: strings.Repeat("A", 60)}})
	if rec := b.do(app, http.MethodGet, "/account"); rec.Code != http.StatusOK || counted.news != 1 {
		t.Fatalf("an undecodable old cookie: %d, %d reads; want the page, after one read", rec.Code, counted.news)
	}
}

type countingGorillaStore struct {
	gorilla.Store
	news int
}

func (s *countingGorillaStore) New(r *http.Request, name string) (*gorilla.Session, error) {
	s.news++
	return s.Store.New(r, name)
}

// When the session cannot move, the request fails and the old session
// stays, for the next request to try again.
func TestFromGinContribKeepsTheOldSessionWhenItCannotMove(t *testing.T) {
	deadRedis := func(t *testing.T) sessions.Store {
		srv := redistest.Start(t)
		srv.Kill()
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DialTimeout: time.Second, MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		return sessions.NewRedisStore(rdb)
	}
	memory := func(t *testing.T) sessions.Store {
		st := sessions.NewMemoryStore()
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	for _, tc := range []struct {
		name     string
		login    string
		newStore func(t *testing.T) sessions.Store
		killOld  bool
		code     int
	}{
		{"new store unreachable", "/login", deadRedis, false, http.StatusServiceUnavailable},
		{"old store unreachable", "/login", memory, true, http.StatusServiceUnavailable},
		{"a value JSON cannot hold", "/login?extra=1", memory, false, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldServer := redistest.Start(t)
			oldStore, err := ginredis.NewStore(10, "tcp", oldServer.Addr, "", "", secret)
			if err != nil {
				t.Fatal(err)
			}
			oldApp := oldGinContribApp(oldStore, "mysession")
			b := newBrowser()
			b.do(oldApp, http.MethodGet, tc.login)
			oldValue := b.cookie("mysession")
			if tc.killOld {
				oldServer.Kill()
			}

			var errs []string
			runs := 0
			app := gin.New()
			app.Use(func(c *gin.Context) {
				c.Next()
				errs = c.Errors.Errors()
			})
			app.Use(sessions.Middleware(tc.newStore(t)), migrate.FromGinContrib(oldStore, "mysession"))
			app.GET("/account", func(c *gin.Context) { runs++ })

			rec := b.do(app, http.MethodGet, "/account")
			if rec.Code != tc.code || runs != 0 {
				t.Fatalf("got %d (%q) after %d handler runs, want %d and none", rec.Code, rec.Body.String(), runs, tc.code)
			}
			if len(errs) != 1 || !hasPrefixAny(errs[0], "migrate: ", "sessions: ") {
				t.Fatalf("errors on the context: %q", errs)
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("a failed move set cookies: %q", sc)
			}
			if b.cookie("mysession") != oldValue || b.cookie("sessionid") != "" {
				t.Fatalf("the browser's cookies changed: %v", b.cookies())
			}
			if !tc.killOld {
				if got := b.do(oldApp, http.MethodGet, "/whoami").Body.String(); got != "ada" {
					t.Fatalf("the old session is gone: %q", got)
				}
			}
		})
	}
}

func TestFromGinContribWithContextKey(t *testing.T) {
	oldStore := cookie.NewStore(secret)
	b := newBrowser()
	b.do(oldGinContribApp(oldStore, "mysession"), http.MethodGet, "/login")

	store := sessions.NewMemoryStore()
	defer store.Close()
	app := gin.New()
	app.Use(sessions.Middleware(store, sessions.WithContextKey("account"), sessions.WithCookieName("account")),
		migrate.FromGinContrib(oldStore, "mysession", migrate.WithContextKey("account")))
	app.GET("/", func(c *gin.Context) {
		user, _ := sessions.Value[User](c.MustGet("account").(*sessions.Session), "user")
		c.String(http.StatusOK, user.Name)
	})
	if rec := b.do(app, http.MethodGet, "/"); rec.Code != http.StatusTemporaryRedirect {
		t.Fatalf("first request: %d", rec.Code)
	}
	if got := b.do(app, http.MethodGet, "/").Body.String(); got != "ada" {
		t.Fatalf("moved session under its key shows %q", got)
	}
}

func TestFromGinContribPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
		want string
	}{
		{"nil store", func() { migrate.FromGinContrib(nil, "mysession") }, "migrate: FromGinContrib needs the old store"},
		{"empty name", func() { migrate.FromGinContrib(cookie.NewStore(secret), "") }, "migrate: FromGinContrib needs the old store"},
		{"empty key", func() { migrate.WithContextKey("") }, "migrate: WithContextKey(\"\")"},
		{"no sessions.Middleware", func() {
			oldStore := cookie.NewStore(secret)
			b := newBrowser()
			b.do(oldGinContribApp(oldStore, "mysession"), http.MethodGet, "/login")
			app := gin.New()
			app.Use(migrate.FromGinContrib(oldStore, "mysession"))
			app.GET("/", func(c *gin.Context) {})
			b.do(app, http.MethodGet, "/")
		}, "migrate: no session under the gin.Context key \"session\": install sessions.Middleware before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, tc.want) {
					t.Fatalf("panic %q, want %q…", msg, tc.want)
				}
			}()
			tc.fn()
		})
	}
}

// A server-side record that does not decode (a type no longer registered
// with gob, say) fails the request and stays in the old store.
func TestFromGinContribUndecodableRecord(t *testing.T) {
	addr := redistest.Start(t).Addr
	oldStore, err := ginredis.NewStore(10, "tcp", addr, "", "", secret)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "session_RECORD", "not gob", 0).Err(); err != nil {
		t.Fatal(err)
	}
	value, err := securecookie.EncodeMulti("mysession", "RECORD", securecookie.CodecsFromPairs(secret)...)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser()
	b.jar.SetCookies(site, []*http.Cookie{{Name: "mysession", Value: value}})

	store := sessions.NewMemoryStore()
	defer store.Close()
	runs := 0
	app := newApp(store, "sessionid", migrate.FromGinContrib(oldStore, "mysession"), &runs)
	rec := b.do(app, http.MethodGet, "/account")
	if rec.Code != http.StatusInternalServerError || runs != 0 || store.Len() != 0 {
		t.Fatalf("got %d after %d handler runs, %d new sessions; want 500, none, none", rec.Code, runs, store.Len())
	}
	if n := rdb.Exists(ctx, "session_RECORD").Val(); n != 1 || b.cookie("mysession") != value {
		t.Fatal("the old record or its cookie is gone")
	}
}
