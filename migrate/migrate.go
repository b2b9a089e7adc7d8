// Package migrate moves visitors' sessions from gin-contrib/sessions (or
// any gorilla/sessions store) and from scs into
// github.com/ginsessions/sessions, each one once, on the visitor's first
// request after the switch, so that nobody is logged out by it.
//
// Install the transition middleware right after sessions.Middleware, for as
// long as old sessions may still be alive (gin-contrib/sessions' stores keep
// them 30 days by default, scs 24 hours), then remove it and the old store:
//
//	r.Use(sessions.Middleware(store, sessions.WithCookieName("mysession")))
//	r.Use(migrate.FromGinContrib(oldStore, "mysession"))
//
// A request without the old cookie costs nothing. A request with one gets
// the old session's values copied into the new session (keys the new
// session already holds win), the new session saved, the old one deleted
// and its cookie expired, and a 307 Temporary Redirect to the same URL: the
// browser repeats the request with the new cookie, and the handler runs once,
// on the repeated request. Answering the first request this way guarantees
// that the new cookie reaches the browser in the response that expires the
// old one, whatever the handler would have answered.
//
// Nothing is lost on the way: when the old store cannot be read, or the new
// one cannot be written, the request fails (503 when a store is unreachable,
// 500 otherwise), the error is added to the gin.Context, and the old session
// stays where it was for the next request to try again.
package migrate

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// Option configures a transition middleware.
type Option func(*config)

type config struct {
	contextKey string
}

// WithContextKey names the gin.Context key of the session to fill: the key
// given to sessions.WithContextKey. Default sessions.ContextKey. An empty
// key panics.
func WithContextKey(key string) Option {
	if key == "" {
		panic("migrate: WithContextKey(\"\"): pass the key given to sessions.WithContextKey")
	}
	return func(cfg *config) { cfg.contextKey = key }
}

func newConfig(opts []Option) config {
	cfg := config{contextKey: sessions.ContextKey}
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

// session returns the new session of the request. It panics when
// sessions.Middleware has not run before the transition.
func (cfg config) session(c *gin.Context) *sessions.Session {
	v, _ := c.Get(cfg.contextKey)
	s, ok := v.(*sessions.Session)
	if !ok {
		panic(fmt.Sprintf("migrate: no session under the gin.Context key %q: install sessions.Middleware before the transition middleware", cfg.contextKey))
	}
	return s
}

// oldSession is what an old session holds, read from its store.
type oldSession struct {
	values  map[string]any
	flashes []any
	// retire deletes the old session from its store and expires its
	// cookie in the response.
	retire func() error
}

// carry moves old into the new session s and answers the request, or lets
// the chain go on when old holds nothing.
func carry(c *gin.Context, s *sessions.Session, old oldSession) {
	if len(old.values) == 0 && len(old.flashes) == 0 {
		if err := old.retire(); err != nil {
			fail(c, err)
			return
		}
		c.Next()
		return
	}
	for k, v := range old.values {
		s.SetDefault(k, v)
	}
	for _, f := range old.flashes {
		s.AddFlash(f)
	}
	// Saved before the old session is deleted: a failure here keeps it.
	if err := s.Save(); err != nil {
		fail(c, err)
		return
	}
	if err := old.retire(); err != nil {
		fail(c, err)
		return
	}
	// Not c.Redirect: http.Redirect would make the location absolute from
	// the path this server saw, which a proxy may have rewritten.
	c.Header("Location", sameURL(c.Request.URL))
	c.AbortWithStatus(http.StatusTemporaryRedirect)
}

// sameURL is a relative reference from a URL to itself: the last path
// segment and the query. The browser resolves it against the URL it asked
// for, whatever prefix a proxy stripped.
func sameURL(u *url.URL) string {
	p := u.EscapedPath()
	loc := "./" + p[strings.LastIndex(p, "/")+1:]
	if u.RawQuery != "" {
		loc += "?" + u.RawQuery
	}
	return loc
}

// fail answers a request whose session could not be moved: 503 when a
// store is unreachable, 500 otherwise. The response carries no cookie, so
// the old session is left to the next request.
func fail(c *gin.Context, err error) {
	code := http.StatusInternalServerError
	var ne net.Error
	if errors.Is(err, sessions.ErrUnavailable) || errors.As(err, &ne) {
		code = http.StatusServiceUnavailable
	}
	_ = c.Error(err)
	c.String(code, http.StatusText(code))
	c.Abort()
}
