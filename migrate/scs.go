package migrate

import (
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
)

// scsRememberMe is the key under which scs keeps RememberMe's choice; the
// new session follows the middleware's expiry settings instead.
const scsRememberMe = "__rememberMe"

// FromSCS returns the transition middleware for sessions kept by an scs
// SessionManager, read from the cookie named by its Cookie.Name. Install it
// after sessions.Middleware; see the package documentation for what it
// does. The manager must use the old store and codec (and HashTokenInStore
// setting); with the default gob codec, the types stored in old sessions
// must still be registered with gob.Register until the transition ends.
//
// scs tokens look like the new package's. When the new cookie has scs's
// name, each request with that cookie first loads the new session (which
// most handlers do anyway) and reads the old store only when the token is
// not a live new session. A nil manager panics.
func FromSCS(old *scs.SessionManager, opts ...Option) gin.HandlerFunc {
	if old == nil {
		panic("migrate: FromSCS needs the old scs.SessionManager")
	}
	cfg := newConfig(opts)
	return func(c *gin.Context) {
		ck, err := c.Request.Cookie(old.Cookie.Name)
		if err != nil || ck.Value == "" {
			c.Next()
			return
		}
		s := cfg.session(c)
		if s.ID() == ck.Value {
			c.Next() // the cookie carries a new session already
			return
		}
		ctx, err := old.Load(c.Request.Context(), ck.Value)
		if err != nil {
			fail(c, fmt.Errorf("migrate: reading the scs session: %w", err))
			return
		}
		values := map[string]any{}
		for _, k := range old.Keys(ctx) {
			if k != scsRememberMe {
				values[k] = old.Get(ctx, k)
			}
		}
		carry(c, s, oldSession{values: values, retire: func() error {
			if err := old.Destroy(ctx); err != nil {
				return fmt.Errorf("migrate: deleting the scs session: %w", err)
			}
			old.WriteSessionCookie(ctx, c.Writer, "", time.Time{})
			return nil
		}})
	}
}
