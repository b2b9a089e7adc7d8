package benchmarks

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	gcs "github.com/gin-contrib/sessions"
	gcsmem "github.com/gin-contrib/sessions/memstore"
	gcsredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
)

// The tutorial's session data: a greeting string and a visit counter.
const (
	greeting    = "Hello, Gin Sessions!"
	greetingKey = "greeting"
	visitsKey   = "num_visits"
)

// handlers are one system's answers to the workloads' routes, written as a
// user of that library would write them.
type handlers struct {
	newSession gin.HandlerFunc // GET /new: one write (the greeting)
	counter    gin.HandlerFunc // GET /counter: read num_visits, add one, write, answer the count
	read       gin.HandlerFunc // GET /read: answer the greeting
}

// system is a session library with one of its stores, mounted on a fresh
// gin.Engine. redis is nil for a memory store.
type system struct {
	name     string
	bare     bool // no session middleware: no cookie is ever expected
	redis    bool
	postgres bool
	sql      string // "sqlite" or "mariadb" for a system on database/sql
	mount    func(tb testing.TB, r *gin.Engine, env *redisEnv) handlers
}

// engine builds the system's gin.Engine: the middleware, then the routes.
// The untouched route is the same for every system: it never looks at the
// session.
func (s system) engine(tb testing.TB) (*gin.Engine, *redisEnv) {
	var env *redisEnv
	if s.redis {
		env = newRedisEnv(tb)
	}
	if s.postgres {
		env = newPostgresEnv(tb)
	}
	if s.sql != "" {
		env = newSQLEnv(tb, s.sql)
	}
	return s.engineOn(tb, env), env
}

// engineOn builds the system's gin.Engine on the given Redis (nil for a
// memory store).
func (s system) engineOn(tb testing.TB, env *redisEnv) *gin.Engine {
	r := gin.New()
	h := s.mount(tb, r, env)
	r.GET("/untouched", func(c *gin.Context) { c.String(http.StatusOK, "untouched") })
	r.GET("/new", h.newSession)
	r.GET("/counter", h.counter)
	r.GET("/read", h.read)
	return r
}

// systems lists every system measured, the floor first.
func systems() []system {
	return append([]system{
		{name: "bare", bare: true, mount: mountBare},
		{name: "gincontrib-memory", mount: mountGinContribMemory},
		{name: "gincontrib-redis", redis: true, mount: mountGinContribRedis},
		{name: "scs-memory", mount: mountSCSMemory},
		{name: "scs-redis", redis: true, mount: mountSCSRedis},
		{name: "gincontrib-postgres", postgres: true, mount: mountGinContribPostgres},
		{name: "scs-postgres", postgres: true, mount: mountSCSPostgres},
	}, ourSystems...)
}

// redisSystems lists the systems on a Redis store.
func redisSystems() []system {
	var out []system
	for _, sys := range systems() {
		if sys.redis {
			out = append(out, sys)
		}
	}
	return out
}

// onOwnRedis mounts sys on a redis-server of its own, which stops when tb
// ends: for measures that must see one system's keys and nothing else.
func onOwnRedis(tb testing.TB, sys system) (*redisEnv, *gin.Engine) {
	tb.Helper()
	addr, stop, err := startRedis()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	env := &redisEnv{addr: addr}
	return env, sys.engineOn(tb, env)
}

// ourSystems is filled in by ours_test.go.
var ourSystems []system

func init() { gin.SetMode(gin.ReleaseMode) }

// mountBare answers the same routes with no session at all: the floor. Its
// counter lives in the engine, so the same result checks apply.
func mountBare(tb testing.TB, r *gin.Engine, _ *redisEnv) handlers {
	var visits atomic.Int64
	return handlers{
		newSession: func(c *gin.Context) { c.String(http.StatusOK, "new") },
		counter: func(c *gin.Context) {
			c.String(http.StatusOK, strconv.FormatInt(visits.Add(1), 10))
		},
		read: func(c *gin.Context) { c.String(http.StatusOK, greeting) },
	}
}

// gin-contrib/sessions: gorilla/sessions underneath, an explicit Save.

func mountGinContribMemory(tb testing.TB, r *gin.Engine, _ *redisEnv) handlers {
	return mountGinContrib(r, gcsmem.NewStore([]byte("benchmark-secret")))
}

func mountGinContribRedis(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
	store, err := gcsredis.NewStoreWithPool(env.rediStorePool(tb), []byte("benchmark-secret"))
	if err != nil {
		tb.Fatal(err)
	}
	return mountGinContrib(r, store)
}

func mountGinContrib(r *gin.Engine, store gcs.Store) handlers {
	r.Use(gcs.Sessions("mysession", store))
	save := func(c *gin.Context, s gcs.Session) bool {
		if err := s.Save(); err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return false
		}
		return true
	}
	return handlers{
		newSession: func(c *gin.Context) {
			s := gcs.Default(c)
			s.Set(greetingKey, greeting)
			if save(c, s) {
				c.String(http.StatusOK, "new")
			}
		},
		counter: func(c *gin.Context) {
			s := gcs.Default(c)
			n, _ := s.Get(visitsKey).(int)
			n++
			s.Set(visitsKey, n)
			if save(c, s) {
				c.String(http.StatusOK, strconv.Itoa(n))
			}
		},
		read: func(c *gin.Context) {
			g, _ := gcs.Default(c).Get(greetingKey).(string)
			c.String(http.StatusOK, g)
		},
	}
}

// scs v2: a net/http middleware, adapted to Gin the way its users do.

// mountSCSMemory runs scs's memstore without its cleanup goroutine, which
// would keep every benchmark's sessions alive to the end of the process
// (its StopCleanup races with the goroutine's start). Requests do not see
// the difference: expired sessions are never served either way.
func mountSCSMemory(tb testing.TB, r *gin.Engine, _ *redisEnv) handlers {
	return mountSCS(r, scsmem.NewWithCleanupInterval(0))
}

func mountSCSRedis(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
	return mountSCS(r, redisstore.New(env.scsPool(tb)))
}

func mountSCS(r *gin.Engine, store scs.Store) handlers {
	sm := scs.New()
	sm.Store = store
	r.Use(scsMiddleware(sm))
	return handlers{
		newSession: func(c *gin.Context) {
			sm.Put(c.Request.Context(), greetingKey, greeting)
			c.String(http.StatusOK, "new")
		},
		counter: func(c *gin.Context) {
			ctx := c.Request.Context()
			n := sm.GetInt(ctx, visitsKey) + 1
			sm.Put(ctx, visitsKey, n)
			c.String(http.StatusOK, strconv.Itoa(n))
		},
		read: func(c *gin.Context) {
			c.String(http.StatusOK, sm.GetString(c.Request.Context(), greetingKey))
		},
	}
}

// scsMiddleware runs the rest of the Gin chain inside sm.LoadAndSave, with
// c.Request carrying the loaded session and c.Writer writing through scs's
// writer, which commits the session before the first byte.
func scsMiddleware(sm *scs.SessionManager) gin.HandlerFunc {
	return func(c *gin.Context) {
		sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Writer = &scsWriter{ResponseWriter: c.Writer, scs: w}
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// scsWriter is Gin's writer with the calls that start the response routed
// through scs's writer.
type scsWriter struct {
	gin.ResponseWriter
	scs http.ResponseWriter
}

func (w *scsWriter) WriteHeader(code int)              { w.scs.WriteHeader(code) }
func (w *scsWriter) Write(b []byte) (int, error)       { return w.scs.Write(b) }
func (w *scsWriter) WriteString(s string) (int, error) { return w.scs.Write([]byte(s)) }
