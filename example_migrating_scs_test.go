package sessions_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// scs's introductory program, moved over. The net/http handlers stay, behind
// gin.WrapF, and find the session in the request's context; the options
// keep scs's cookie name and its 24-hour persistent sessions.
func Example_migratingFromSCS() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store,
		sessions.WithCookieName("session"),         // scs's cookie name
		sessions.WithExpireAtBrowserClose(false),   // Cookie.Persist = true
		sessions.WithCookieAge(24*time.Hour),       // the cookie's Max-Age
		sessions.WithAbsoluteTimeout(24*time.Hour), // Lifetime = 24 * time.Hour
	))

	putHandler := func(w http.ResponseWriter, r *http.Request) {
		session, _ := sessions.FromContext(r.Context())
		session.Set("message", "Hello from a session!")
	}
	getHandler := func(w http.ResponseWriter, r *http.Request) {
		session, _ := sessions.FromContext(r.Context())
		io.WriteString(w, session.GetString("message"))
	}
	r.GET("/put", gin.WrapF(putHandler))
	r.GET("/get", gin.WrapF(getHandler))

	b := newBrowser(r)
	b.get("/put")
	fmt.Println(b.get("/get").Body.String())
	// Output: Hello from a session!
}

// scs's login and logout, moved over: RenewToken is CycleKey, Destroy is
// Flush, RememberMe is SetExpiry, PopString is Pop with a typed default.
func Example_migratingFromSCSLogin() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieName("session"), sessions.WithIdleTimeout(20*time.Minute)))

	r.POST("/login", func(c *gin.Context) {
		session := sessions.Default(c)
		session.CycleKey() // sessionManager.RenewToken(ctx)
		session.Set("userID", 7)
		if c.PostForm("remember") == "on" {
			session.SetExpiry(30 * 24 * time.Hour) // sessionManager.RememberMe(ctx, true)
		}
		session.Set("flash", "Welcome back!")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		session := sessions.Default(c)
		flash, _ := session.Pop("flash", "").(string) // sessionManager.PopString(ctx, "flash")
		c.String(http.StatusOK, "user %d %s", session.GetInt("userID"), flash)
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush() // sessionManager.Destroy(ctx)
		c.Redirect(http.StatusSeeOther, "/")
	})

	b := newBrowser(r)
	login := b.get("/login", "remember=on")
	ck, _ := http.ParseSetCookie(login.Header().Get("Set-Cookie"))
	fmt.Println(ck.MaxAge / 86400)
	fmt.Printf("%q\n", b.get("/").Body.String())
	fmt.Printf("%q\n", b.get("/").Body.String())
	b.get("/logout", "")
	fmt.Printf("%q\n", b.get("/").Body.String())
	// Output:
	// 30
	// "user 7 Welcome back!"
	// "user 7 "
	// "user 0 "
}
