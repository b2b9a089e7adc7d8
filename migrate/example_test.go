package migrate_test

import (
	"fmt"
	"net/http"

	"github.com/alexedwards/scs/v2"
	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/migrate"
)

// A visitor logged in with gin-contrib/sessions' cookie store comes back
// after the switch: the first request moves the session and repeats itself,
// and the page finds the visitor logged in.
func ExampleFromGinContrib() {
	oldStore := cookie.NewStore([]byte("secret")) // as before: the same keys, the same gob.Register calls

	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("mysession")))
	r.Use(migrate.FromGinContrib(oldStore, "mysession")) // remove it once old sessions have expired

	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "user %s", sessions.Default(c).GetString("user"))
	})

	old := gin.New()
	old.Use(ginsessions.Sessions("mysession", oldStore))
	old.GET("/login", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Set("user", "ada")
		_ = s.Save()
	})
	b := newBrowser()
	b.do(old, http.MethodGet, "/login")
	first := b.do(r, http.MethodGet, "/")
	fmt.Println(first.Code, first.Header().Get("Location"))
	fmt.Println(b.do(r, http.MethodGet, "/").Body.String())
	// Output:
	// 307 ./
	// user ada
}

// A visitor logged in with scs comes back after the switch.
func ExampleFromSCS() {
	sessionManager := scs.New() // as before: the same Store, Codec and HashTokenInStore

	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("session")))
	r.Use(migrate.FromSCS(sessionManager)) // remove it once old sessions have expired

	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "user %d", sessions.Default(c).GetInt("userID"))
	})

	b := newBrowser()
	b.do(sessionManager.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionManager.Put(r.Context(), "userID", 7)
	})), http.MethodGet, "/login")
	first := b.do(r, http.MethodGet, "/")
	fmt.Println(first.Code, first.Header().Get("Location"))
	fmt.Println(b.do(r, http.MethodGet, "/").Body.String())
	// Output:
	// 307 ./
	// user 7
}
