// Command _example is a small local-library site that shows the sessions
// package at work: a visit counter, a greeting kept between pages, the
// session methods, login and logout with flash messages, per-session
// expiry, and the list of devices a user is signed in on.
//
//	go run ./_example                 # http://127.0.0.1:8080, memory store
//	PORT=9000 go run ./_example       # another port (0 picks a free one)
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./_example
//	DATABASE_URL=postgres://127.0.0.1:5432/app make example-postgres
//	CSRF_TRUSTED_ORIGINS=https://app.example.com go run ./_example
//
// Every state change is a POST, and two layers keep other sites from forging
// one. The standard library's http.CrossOriginProtection, in front of the
// whole router, refuses a POST that the browser marks as coming from another
// origin (CSRF_TRUSTED_ORIGINS lists the origins allowed to post anyway). The
// session cookie is SameSite=Lax, so the browser does not even send it with a
// POST from another site. Neither layer stops a GET, so no GET handler
// changes anything that matters.
package main

import (
	"embed"
	"html/template"
	"log"
	"net"
	"os"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

//go:embed templates/*.html
var templatesFS embed.FS

func main() {
	store, closeStore, err := newStore()
	if err != nil {
		log.Fatal(err)
	}
	defer closeStore()

	handler, err := newHandler(store, splitOrigins(os.Getenv("CSRF_TRUSTED_ORIGINS")))
	if err != nil {
		log.Fatal(err)
	}

	// Listen first, then say where: with PORT=0 the address printed is the
	// one the system chose.
	ln, err := net.Listen("tcp", net.JoinHostPort(getenv("HOST", "127.0.0.1"), getenv("PORT", "8080")))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s", ln.Addr())
	log.Fatal(newServer(handler).Serve(ln))
}

// newRouter wires the middleware, the templates and the routes.
func newRouter(store sessions.Store) *gin.Engine {
	r := gin.Default()
	r.Use(sessions.Middleware(store))

	tmpl := template.Must(template.New("").Funcs(sessions.FuncMap()).ParseFS(templatesFS, "templates/*.html"))
	r.SetHTMLTemplate(tmpl)
	// Every c.HTML now hands the template .session, .flashes and .principal.
	r.HTMLRender = sessions.HTMLRender(r.HTMLRender)

	r.GET("/", index)
	r.GET("/greeting", greeting)
	r.GET("/greeting/set", greetingForm)
	r.POST("/greeting/set", setGreeting)
	r.GET("/methods", methods)
	r.POST("/methods/set", methodSet)
	r.POST("/methods/pop", methodPop)
	r.POST("/methods/clear", methodClear)
	r.GET("/login", loginForm)
	r.POST("/login", login)
	r.POST("/logout", logout)
	r.GET("/expiry", expiry)
	r.POST("/expiry", setExpiry)
	r.GET("/sessions", yourSessions)
	r.POST("/sessions/revoke", revokeSession)
	r.POST("/sessions/revoke-others", revokeOtherSessions)
	return r
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
