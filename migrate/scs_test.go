package migrate_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/gin-gonic/gin"
	"github.com/gomodule/redigo/redis"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
	"github.com/ginsessions/sessions/migrate"
)

// oldSCSApp is the site before the switch: net/http handlers behind scs's
// LoadAndSave.
func oldSCSApp(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		_ = sm.RenewToken(ctx)
		sm.Put(ctx, "user", User{Name: "ada", Admin: true})
		sm.Put(ctx, "visits", 3)
		sm.RememberMe(ctx, true)
		if r.URL.Query().Get("extra") != "" {
			sm.Put(ctx, "extra", complex(1, 2)) // gob stores it; JSON cannot
		}
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		u, _ := sm.Get(r.Context(), "user").(User)
		_, _ = w.Write([]byte(u.Name))
	})
	return sm.LoadAndSave(mux)
}

// countingSCSStore is a real scs store that counts its lookups.
type countingSCSStore struct {
	scs.Store
	mu    sync.Mutex
	finds int
}

func (s *countingSCSStore) Find(token string) ([]byte, bool, error) {
	s.mu.Lock()
	s.finds++
	s.mu.Unlock()
	return s.Store.Find(token)
}

func (s *countingSCSStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finds
}

func scsRedis(t *testing.T, addr string) scs.Store {
	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
	t.Cleanup(func() { _ = pool.Close() })
	return redisstore.New(pool)
}

func TestFromSCS(t *testing.T) {
	for _, old := range []struct {
		name  string
		start func(t *testing.T) scs.Store
	}{
		{"memstore", func(t *testing.T) scs.Store { return scsmem.NewWithCleanupInterval(0) }},
		{"redis", func(t *testing.T) scs.Store { return scsRedis(t, redistest.Start(t).Addr) }},
	} {
		for _, newCookie := range []string{"sessionid", "session"} {
			t.Run(old.name+", new cookie "+newCookie, func(t *testing.T) {
				counted := &countingSCSStore{Store: old.start(t)}
				sm := scs.New()
				sm.Store = counted
				b := newBrowser()
				b.do(oldSCSApp(sm), http.MethodGet, "/login")
				oldToken := b.cookie("session")
				if oldToken == "" {
					t.Fatal("the old app set no cookie")
				}

				store := sessions.NewMemoryStore()
				defer store.Close()
				runs := 0
				app := newApp(store, newCookie, migrate.FromSCS(sm), &runs)
				if got := moveOnce(t, b, app, newCookie, &runs); got != "ada true 3 []" {
					t.Fatalf("moved session shows %q", got)
				}
				if names := b.cookies(); len(names) != 1 || names[0] != newCookie {
					t.Fatalf("the browser holds %v, want only %s", names, newCookie)
				}
				finds := counted.count()
				for range 3 {
					b.do(app, http.MethodGet, "/visit")
				}
				if got := b.do(app, http.MethodGet, "/account").Body.String(); got != "ada true 6 []" || counted.count() != finds {
					t.Fatalf("after the move: %q, %d more reads of the old store", got, counted.count()-finds)
				}

				replay := newBrowser()
				replay.jar.SetCookies(site, []*http.Cookie{{Name: "session", Value: oldToken}})
				if rec := replay.do(app, http.MethodGet, "/account"); rec.Code != http.StatusOK || rec.Body.String() != " false 0 []" {
					t.Fatalf("replayed old token: %d %q", rec.Code, rec.Body.String())
				}
			})
		}
	}
}

func TestFromSCSKeepsTheOldSessionWhenItCannotMove(t *testing.T) {
	for _, tc := range []struct {
		name    string
		login   string
		killOld bool
		code    int
	}{
		{"old store unreachable", "/login", true, http.StatusServiceUnavailable},
		{"a value JSON cannot hold", "/login?extra=1", false, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			sm := scs.New()
			sm.Store = scsRedis(t, srv.Addr)
			oldApp := oldSCSApp(sm)
			b := newBrowser()
			b.do(oldApp, http.MethodGet, tc.login)
			oldToken := b.cookie("session")
			if tc.killOld {
				srv.Kill()
			}

			store := sessions.NewMemoryStore()
			defer store.Close()
			var errs []string
			app := gin.New()
			app.Use(func(c *gin.Context) {
				c.Next()
				errs = c.Errors.Errors()
			})
			app.Use(sessions.Middleware(store), migrate.FromSCS(sm))
			app.GET("/account", func(c *gin.Context) { t.Error("the handler ran") })

			rec := b.do(app, http.MethodGet, "/account")
			if rec.Code != tc.code || len(errs) != 1 || !hasPrefixAny(errs[0], "migrate: ", "sessions: ") {
				t.Fatalf("got %d, errors %q; want %d and one error", rec.Code, errs, tc.code)
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 || b.cookie("session") != oldToken || store.Len() != 0 {
				t.Fatalf("a failed move changed things: Set-Cookie %q, %d new sessions", sc, store.Len())
			}
			if !tc.killOld {
				if got := b.do(oldApp, http.MethodGet, "/whoami").Body.String(); got != "ada" {
					t.Fatalf("the old session is gone: %q", got)
				}
			}
		})
	}
	t.Run("nil manager", func(t *testing.T) {
		defer func() {
			if msg, _ := recover().(string); msg != "migrate: FromSCS needs the old scs.SessionManager" {
				t.Fatalf("panic %q", msg)
			}
		}()
		migrate.FromSCS(nil)
	})
}
