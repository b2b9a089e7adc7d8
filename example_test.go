package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// The tutorial's visit counter. The session is saved without a Save call,
// and the second request finds the count in it.
func ExampleMiddleware() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		visits := s.GetInt("num_visits") + 1
		s.Set("num_visits", visits) // saved automatically, before the response goes out
		c.String(http.StatusOK, "You have visited this page %d times.", visits)
	})

	var cookie string
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if sc := rec.Result().Cookies(); len(sc) > 0 {
			cookie = sc[0].Name + "=" + sc[0].Value
		}
		fmt.Println(rec.Body.String())
	}
	// Output:
	// You have visited this page 1 times.
	// You have visited this page 2 times.
	// You have visited this page 3 times.
}

// Django's request.session.get with a default, and pop.
func ExampleSession_Get() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		fmt.Println(s.Get("username", "Guest"))
		s.Set("username", "JohnDoe")
		fmt.Println(s.Get("username", "Guest"))
		fmt.Println(s.Pop("username"), s.Has("username"))
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output:
	// Guest
	// JohnDoe
	// JohnDoe false
}

// A typed struct read back with Value.
func ExampleValue() {
	type cart struct {
		Items []string
		Total int
	}
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("cart", cart{Items: []string{"book"}, Total: 12})
		got, ok := sessions.Value[cart](s, "cart")
		fmt.Println(got.Items, got.Total, ok)
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output: [book] 12 true
}

// downStore is a store that has gone down: every load fails.
type downStore struct{ *sessions.MemoryStore }

func (downStore) Load(context.Context, string) (sessions.Record, bool, error) {
	return sessions.Record{}, false, fmt.Errorf("%w: connection refused", sessions.ErrUnavailable)
}

// A handler that shows its own page when the session cannot be loaded,
// instead of working on an empty session. The error is in c.Errors too.
func ExampleSession_Err() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		fmt.Println("c.Errors:", c.Errors.Last())
	})
	r.Use(sessions.Middleware(downStore{store}))
	r.GET("/cart", func(c *gin.Context) {
		if err := sessions.Default(c).Err(); err != nil {
			c.String(http.StatusServiceUnavailable, "Your cart is unavailable, please try again.")
			return
		}
		c.String(http.StatusOK, "%d items", sessions.Default(c).GetInt("items"))
	})

	req := httptest.NewRequest(http.MethodGet, "/cart", nil)
	req.AddCookie(&http.Cookie{Name: "sessionid", Value: "Yx2bVtT1EoB3aQ0sP8kZfL6mN4jR7wC9dH5gU1iK0oE"})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// c.Errors: sessions: session store unavailable: connection refused
	// 503 Your cart is unavailable, please try again.
}
