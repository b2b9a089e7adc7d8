package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// A user signs in on two devices, lists them from the laptop, logs the
// phone out, and later a password change ends every session.
func ExampleSession_Login() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithMaxSessionsPerUser(5)))
	r.POST("/login", func(c *gin.Context) {
		// After checking the password: a new token, bound to the user.
		sessions.Default(c).Login(c.PostForm("user"))
		c.Status(http.StatusNoContent)
	})
	r.GET("/devices", func(c *gin.Context) {
		infos, err := sessions.Default(c).UserSessions()
		if err != nil {
			c.String(http.StatusServiceUnavailable, "try later")
			return
		}
		for _, in := range infos {
			fmt.Printf("%s from %s, this device: %v\n", in.UserAgent, in.IP, in.Current)
		}
	})
	r.POST("/devices/logout-others", func(c *gin.Context) {
		n, _ := sessions.Default(c).RevokeOtherSessions()
		fmt.Println("logged out", n, "other device(s)")
	})
	r.GET("/me", func(c *gin.Context) {
		fmt.Printf("signed in as %q\n", sessions.Default(c).Principal())
	})

	// do sends a request from a device that holds cookie, and returns the
	// cookie it holds afterwards.
	do := func(method, path, ua, cookie string) string {
		req := httptest.NewRequest(method, path, strings.NewReader("user=ada"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		for _, ck := range rec.Result().Cookies() {
			cookie = ck.Name + "=" + ck.Value
		}
		return cookie
	}
	phone := do(http.MethodPost, "/login", "Phone", "")
	laptop := do(http.MethodPost, "/login", "Laptop", "")
	do(http.MethodGet, "/devices", "Laptop", laptop)
	do(http.MethodPost, "/devices/logout-others", "Laptop", laptop)
	do(http.MethodGet, "/me", "Phone", phone)

	// A password change, from anywhere: no request, no cookie.
	n, _ := sessions.RevokeUserSessions(context.Background(), store, "ada")
	fmt.Println("a password change ended", n, "session(s)")
	do(http.MethodGet, "/me", "Laptop", laptop)
	// Output:
	// Laptop from 192.0.2.1, this device: true
	// Phone from 192.0.2.1, this device: false
	// logged out 1 other device(s)
	// signed in as ""
	// a password change ended 1 session(s)
	// signed in as ""
}
