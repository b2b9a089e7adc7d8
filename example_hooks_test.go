package sessions_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// An audit log of sessions in log/slog, built on Event, as OWASP asks for:
// creation, login, logout, revocation and expiry, each with the session's
// public UUID and its user, never its token. The memory store reports the
// expiry from its janitor to the same hooks, since Middleware adds them to
// the store.
func ExampleWithHooks_auditLog() {
	// The UUIDs and times differ from run to run; this example's handler
	// leaves them out so that its output can be checked. An application
	// keeps them.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "session" {
				return slog.Attr{}
			}
			return a
		},
	}))
	audit := sessions.Hooks{Event: func(ctx context.Context, e sessions.Event) {
		level := slog.LevelInfo
		if e.Kind == sessions.EventFailed {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, "session "+e.Kind.String(), "session", e.UUID, "user", e.Principal)
	}}

	store := sessions.NewMemoryStore()
	defer store.Close()
	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithHooks(audit)))
	r.POST("/login", func(c *gin.Context) {
		sessions.Default(c).Login("ada") // after checking the password
		c.Status(http.StatusNoContent)
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush()
		c.Status(http.StatusNoContent)
	})

	do := func(path, cookie string) string {
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		for _, ck := range rec.Result().Cookies() {
			cookie = ck.Name + "=" + ck.Value
		}
		return cookie
	}
	laptop := do("/login", "")
	do("/login", "") // a phone
	do("/logout", laptop)
	if _, err := sessions.RevokeUserSessions(context.Background(), store, "ada"); err != nil {
		panic(err)
	}
	// Output:
	// level=INFO msg="session created" user=ada
	// level=INFO msg="session logged_in" user=ada
	// level=INFO msg="session created" user=ada
	// level=INFO msg="session logged_in" user=ada
	// level=INFO msg="session flushed" user=ada
	// level=INFO msg="session revoked" user=ada
}

// The three hooks: lifecycle events, and a start and an end around each
// store call, here on a first visit that saves a new session.
func ExampleHooks() {
	store := sessions.NewMemoryStore()
	defer store.Close()
	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithHooks(sessions.Hooks{
		Event: func(ctx context.Context, e sessions.Event) { // lifecycle events
			fmt.Println("event", e.Kind)
		},
		StoreStart: func(ctx context.Context, op sessions.StoreOp) context.Context { // before each store call
			fmt.Println("start", op.Name, op.Store)
			return ctx // or one that carries a span
		},
		StoreDone: func(ctx context.Context, op sessions.StoreOp, d time.Duration, err error) {
			fmt.Println("done", op.Name, err)
		},
	})))
	r.GET("/", func(c *gin.Context) {
		sessions.Default(c).Set("theme", "dark")
		c.Status(http.StatusNoContent)
	})

	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output:
	// start save memory
	// done save <nil>
	// event created
}
