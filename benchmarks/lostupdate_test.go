package benchmarks

import (
	"net/http"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	gcs "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// sessionAccess is how a handler sets a key and reads one back with one
// library; save runs after the handler has waited, as the end of a request
// does.
type sessionAccess struct {
	set  func(c *gin.Context, key string)
	save func(c *gin.Context) error // nil when the middleware saves
	has  func(c *gin.Context, key string) bool
}

// TestConcurrentChangesOnPostgres: request A loads a session and sets "a";
// while it is still running, request B sets "b" and ends; then A ends. This
// library saves A's change as a delta, so both keys persist; both peers
// write A's whole copy of the session back over B's change.
func TestConcurrentChangesOnPostgres(t *testing.T) {
	tests := []struct {
		name  string
		mount func(t *testing.T, r *gin.Engine) sessionAccess
		keeps bool
	}{
		{"ours-postgres", mountOursAccess, true},
		{"scs-postgres", mountSCSAccess, false},
		{"gincontrib-postgres", mountGinContribAccess, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			acc := tt.mount(t, r)
			loaded, release := make(chan struct{}), make(chan struct{})
			r.GET("/set", func(c *gin.Context) {
				acc.set(c, c.Query("k"))
				if c.Query("hold") != "" {
					close(loaded)
					<-release
				}
				if acc.save != nil {
					if err := acc.save(c); err != nil {
						c.AbortWithError(http.StatusInternalServerError, err)
						return
					}
				}
				c.String(http.StatusOK, "ok")
			})
			r.GET("/has", func(c *gin.Context) {
				var keys []string
				for _, k := range []string{"base", "a", "b"} {
					if acc.has(c, k) {
						keys = append(keys, k)
					}
				}
				c.String(http.StatusOK, strings.Join(keys, ","))
			})
			cookie := cookieOf(t, serve(r, request("/set?k=base", "")))

			done := make(chan string)
			go func() { done <- serve(r, request("/set?k=a&hold=1", cookie)).Body.String() }()
			<-loaded
			if got := serve(r, request("/set?k=b", cookie)); got.Code != http.StatusOK {
				t.Fatalf("request B: %d %s", got.Code, got.Body.String())
			}
			close(release)
			if got := <-done; got != "ok" {
				t.Fatalf("request A: %s", got)
			}
			want := "base,a"
			if tt.keeps {
				want = "base,a,b"
			}
			if got := serve(r, request("/has", cookie)).Body.String(); got != want {
				t.Fatalf("keys after both requests: %s, want %s", got, want)
			}
		})
	}
}

func mountOursAccess(t *testing.T, r *gin.Engine) sessionAccess {
	r.Use(sessions.Middleware(oursPostgresStore(t, newPostgresEnv(t))))
	return sessionAccess{
		set: func(c *gin.Context, key string) { sessions.Default(c).Set(key, 1) },
		has: func(c *gin.Context, key string) bool { return sessions.Default(c).Has(key) },
	}
}

func mountSCSAccess(t *testing.T, r *gin.Engine) sessionAccess {
	sm := scs.New()
	sm.Store = scsPostgresStore(t, newPostgresEnv(t))
	r.Use(scsMiddleware(sm))
	return sessionAccess{
		set: func(c *gin.Context, key string) { sm.Put(c.Request.Context(), key, 1) },
		has: func(c *gin.Context, key string) bool { return sm.Exists(c.Request.Context(), key) },
	}
}

func mountGinContribAccess(t *testing.T, r *gin.Engine) sessionAccess {
	r.Use(gcs.Sessions("mysession", ginContribPostgresStore(t, newPostgresEnv(t))))
	return sessionAccess{
		set:  func(c *gin.Context, key string) { gcs.Default(c).Set(key, 1) },
		save: func(c *gin.Context) error { return gcs.Default(c).Save() },
		has:  func(c *gin.Context, key string) bool { return gcs.Default(c).Get(key) != nil },
	}
}
