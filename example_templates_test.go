package sessions_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

func ExampleFuncMap() {
	tmpl := template.Must(template.New("").Funcs(sessions.FuncMap()).Parse(
		`{{ .n }} visit{{ .n | pluralize }}, {{ .n }} walrus{{ .n | pluralize "es" }}, {{ .n }} cherr{{ .n | pluralize "y,ies" }}` + "\n"))
	for _, n := range []int{1, 2} {
		if err := tmpl.Execute(os.Stdout, map[string]any{"n": n}); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// 1 visit, 1 walrus, 1 cherry
	// 2 visits, 2 walruses, 2 cherries
}

func ExampleHTMLRender() {
	gin.SetMode(gin.ReleaseMode)
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.SetHTMLTemplate(template.Must(template.New("greeting.html").Funcs(sessions.FuncMap()).Parse(
		`<p>{{ .title }}: {{ .session.greeting }}</p>{{ range .flashes }}<p>{{ . }}</p>{{ end }}`)))
	r.HTMLRender = sessions.HTMLRender(r.HTMLRender)

	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("greeting", "Hello, Gin Sessions!")
		s.AddFlash("Greeting saved")
		// No session plumbing: the template reads .session and .flashes.
		c.HTML(http.StatusOK, "greeting.html", gin.H{"title": "Session value"})
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(w.Body.String())
	// Output:
	// <p>Session value: Hello, Gin Sessions!</p><p>Greeting saved</p>
}

func ExampleH() {
	gin.SetMode(gin.ReleaseMode)
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/", func(c *gin.Context) {
		sessions.Default(c).Set("num_visits", 3)
		data := sessions.H(c, gin.H{"title": "Home"})
		fmt.Println(data["title"], data["session"])
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output:
	// Home map[num_visits:3]
}
