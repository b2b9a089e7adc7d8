package sessions_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"

	"github.com/ginsessions/sessions/internal/redistest"
)

// gin-contrib/sessions' Redis example, moved over (MIGRATING.md shows the
// middle of this test). It starts a server of its own, so the store can use
// its default key prefix.
func TestMigratingFromGinContribRedis(t *testing.T) {
	addr := redistest.Start(t).Addr

	rdb := redis.NewClient(&redis.Options{Addr: addr}) // any redis.UniversalClient
	defer rdb.Close()

	r := gin.New()
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb), sessions.WithCookieName("mysession")))

	r.GET("/incr", func(c *gin.Context) {
		session := sessions.Default(c)
		count := session.Incr("count", 1) - 1 // atomic in Redis, even across concurrent requests
		c.JSON(http.StatusOK, gin.H{"count": count})
	})

	b := newBrowser(r)
	for _, want := range []string{`{"count":0}`, `{"count":1}`, `{"count":2}`} {
		if got := b.get("/incr").Body.String(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if n := rdb.DBSize(context.Background()).Val(); n != 1 {
		t.Fatalf("Redis holds %d keys, want the one session", n)
	}
	if cks := b.jar.Cookies(browserURL); len(cks) != 1 || cks[0].Name != "mysession" || len(cks[0].Value) != 43 {
		t.Fatalf("cookies %v, want one mysession token", cks)
	}
}
