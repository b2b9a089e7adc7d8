package migrate

import (
	"errors"
	"fmt"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
	gorilla "github.com/gorilla/sessions"
)

// gorillaFlashes is the key under which gorilla/sessions (and so
// gin-contrib/sessions) keeps AddFlash's messages by default.
const gorillaFlashes = "_flash"

// newTokenLen is the length of the new package's tokens. Every
// securecookie value is longer (it holds a timestamp and a 32-byte MAC), so
// a cookie of this length is never an old session.
const newTokenLen = 43

// FromGinContrib returns the transition middleware for sessions kept by a
// gin-contrib/sessions store (cookie, memstore, redis, or any other: each is
// a gorilla/sessions Store) under the cookie name that sessions.Sessions
// was given. Install it after sessions.Middleware; see the package
// documentation for what it does.
//
// The old store must be built as before, with the same keys, and the types
// stored in old sessions must still be registered with gob.Register until
// the transition ends: a cookie that does not decode (wrong keys, expired,
// forged, or an unregistered type in a cookie store) counts as no session,
// and a record that does not decode in a server-side store fails the
// request with 500. Keys that are not strings are converted with fmt.Sprint;
// the default flash messages become the new session's flashes.
//
// A memstore's sessions live in the process: after a restart into the new
// code there is nothing left to move.
//
// When the new cookie has the old cookie's name, the response that moves a
// session carries two Set-Cookie lines for that name, the old cookie's
// expiry first; browsers apply them in order. A nil store or an empty name
// panics.
func FromGinContrib(old gorilla.Store, name string, opts ...Option) gin.HandlerFunc {
	if old == nil || name == "" {
		panic("migrate: FromGinContrib needs the old store and the name given to sessions.Sessions")
	}
	cfg := newConfig(opts)
	return func(c *gin.Context) {
		ck, err := c.Request.Cookie(name)
		if err != nil || len(ck.Value) <= newTokenLen {
			c.Next()
			return
		}
		s := cfg.session(c)
		sess, err := old.New(c.Request, name)
		if err != nil {
			var dec securecookie.Error
			if errors.As(err, &dec) && dec.IsDecode() {
				c.Next()
				return
			}
			fail(c, fmt.Errorf("migrate: reading the gin-contrib/sessions session: %w", err))
			return
		}
		values, flashes := gorillaValues(sess.Values)
		carry(c, s, oldSession{values: values, flashes: flashes, retire: func() error {
			sess.Options.MaxAge = -1 // gorilla/sessions' way to delete a session
			if err := old.Save(c.Request, c.Writer, sess); err != nil {
				return fmt.Errorf("migrate: deleting the gin-contrib/sessions session: %w", err)
			}
			return nil
		}})
	}
}

// gorillaValues returns a gorilla session's values under string keys, and
// its default flash messages apart. A string key wins over another key that
// prints the same.
func gorillaValues(old map[any]any) (map[string]any, []any) {
	values := make(map[string]any, len(old))
	var flashes []any
	for k, v := range old {
		if _, ok := k.(string); !ok {
			values[fmt.Sprint(k)] = v
		}
	}
	for k, v := range old {
		key, ok := k.(string)
		switch {
		case !ok:
		case key == gorillaFlashes:
			flashes, _ = v.([]any)
		default:
			values[key] = v
		}
	}
	return values, flashes
}
