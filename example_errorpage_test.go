package sessions_test

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// An HTML site answers a session failure with a page in its own words and
// the status the default handler would give: 503 while the store is down,
// so that a proxy or a monitor sees an outage, 400 when a concurrent logout
// deleted the session, 500 otherwise.
func ExampleWithErrorHandler() {
	page := template.Must(template.New("error").Parse(
		`<h1>{{ if .retry }}We will be right back{{ else }}Something went wrong{{ end }}</h1>` +
			`<p>{{ if .retry }}Please try again in a minute.{{ else }}Please reload the page.{{ end }}</p>`))

	// A Redis that is down, as a store that cannot answer.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()

	r := gin.New()
	r.SetHTMLTemplate(page)
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb),
		sessions.WithErrorHandler(func(c *gin.Context, err error) {
			_ = c.Error(err) // for the logs; the visitor sees the page
			c.HTML(sessions.ErrorStatus(err), "error", gin.H{"retry": errors.Is(err, sessions.ErrUnavailable)})
		})))
	r.GET("/cart", func(c *gin.Context) {
		n := sessions.Default(c).GetInt("items")
		c.String(http.StatusOK, "%d items", n)
	})

	req := httptest.NewRequest(http.MethodGet, "/cart", nil)
	req.AddCookie(&http.Cookie{Name: "sessionid", Value: "3fF0dzpzHX4ZLeWmTzVhF4mfuCQzUq7AVDJmh5yVWkU"})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Body.String())
	// Output:
	// 503 text/html; charset=utf-8
	// <h1>We will be right back</h1><p>Please try again in a minute.</p>
}
