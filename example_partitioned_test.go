package sessions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// A site that runs inside other sites' pages (an embedded widget, say)
// needs a cookie that is sent in cross-site requests and that browsers
// blocking third-party cookies still keep, one per embedding site.
func ExampleWithPartitioned() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store,
		sessions.WithSecure(true), // required by Partitioned and SameSite=None
		sessions.WithSameSite(http.SameSiteNoneMode),
		sessions.WithPartitioned(true),
	))
	r.GET("/widget", func(c *gin.Context) {
		sessions.Default(c).Set("seen", true)
	})

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://widget.example/widget", nil))
	_, attrs, _ := strings.Cut(rec.Header().Get("Set-Cookie"), "; ")
	fmt.Println(attrs)
	// Output: Path=/; HttpOnly; Secure; SameSite=None; Partitioned
}
