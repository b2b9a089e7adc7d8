package sessions_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// Cross-site request forgery: the standard library's CrossOriginProtection
// wraps the whole engine, so every POST route refuses a form posted from
// another origin before the session is even loaded: the forged request
// costs no store call and sets no cookie. GET, HEAD and OPTIONS always pass.
func Example_crossOriginProtection() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/greeting", func(c *gin.Context) {
		sessions.Default(c).Set("greeting", c.PostForm("greeting"))
		c.Status(http.StatusNoContent)
	})

	protection := http.NewCrossOriginProtection()
	// A front-end on another origin whose pages may post here.
	if err := protection.AddTrustedOrigin("https://app.example.com"); err != nil {
		log.Fatal(err)
	}
	handler := protection.Handler(r) // serve this, not r

	// What the browser says about the page the form was posted from.
	for _, from := range []struct{ secFetchSite, origin string }{
		{"same-origin", "https://example.com"},
		{"cross-site", "https://attacker.example"},
		{"same-site", "https://blog.example.com"},
		{"same-site", "https://app.example.com"},
	} {
		req := httptest.NewRequest(http.MethodPost, "https://example.com/greeting", strings.NewReader("greeting=hi"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", from.secFetchSite)
		req.Header.Set("Origin", from.origin)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Printf("%-11s %-24s %d, cookie set: %v\n", from.secFetchSite, from.origin, rec.Code, rec.Header().Get("Set-Cookie") != "")
	}
	// Output:
	// same-origin https://example.com      204, cookie set: true
	// cross-site  https://attacker.example 403, cookie set: false
	// same-site   https://blog.example.com 403, cookie set: false
	// same-site   https://app.example.com  204, cookie set: true
}

// Only a group of routes: a gin middleware that calls Check. The routes
// outside the group take forms from anywhere, so prefer wrapping the whole
// engine as above unless some route must.
func Example_crossOriginProtectionForAGroup() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	protection := http.NewCrossOriginProtection()
	refuseCrossOrigin := func(c *gin.Context) {
		if err := protection.Check(c.Request); err != nil {
			c.AbortWithStatus(http.StatusForbidden)
		}
	}

	r := gin.New()
	r.Use(sessions.Middleware(store))
	account := r.Group("/account", refuseCrossOrigin)
	account.POST("/email", func(c *gin.Context) {
		sessions.Default(c).Set("email", c.PostForm("email"))
		c.Status(http.StatusNoContent)
	})

	for _, site := range []string{"same-origin", "cross-site"} {
		req := httptest.NewRequest(http.MethodPost, "https://example.com/account/email", strings.NewReader("email=ada@example.com"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Printf("%-11s %d, cookie set: %v\n", site, rec.Code, rec.Header().Get("Set-Cookie") != "")
	}
	// Output:
	// same-origin 204, cookie set: true
	// cross-site  403, cookie set: false
}
