package sessions_test

import (
	"log"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

func Example_quickStart() {
	r := gin.Default()
	r.Use(sessions.Middleware(sessions.NewMemoryStore()))

	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(http.StatusOK, "Hello, %q! %v", s.Principal(), s.Flashes())
	})
	r.POST("/login", func(c *gin.Context) {
		// Check the password first, then:
		s := sessions.Default(c)
		s.Login(c.PostForm("name")) // a new token, bound to the user
		s.AddFlash("Welcome back")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush() // data and token gone, in the store too
		c.Redirect(http.StatusSeeOther, "/")
	})

	srv := &http.Server{
		Addr:              ":8080",
		Handler:           http.NewCrossOriginProtection().Handler(r),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Fatal(srv.ListenAndServe())
}
