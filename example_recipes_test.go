package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// exampleClient sends requests to h as one browser would: it keeps the
// session cookie it is given and sends it back.
type exampleClient struct {
	h      http.Handler
	cookie string
	ua     string
}

// do sends a request, a POST when form is given, and returns the response.
func (cl *exampleClient) do(method, path string, form ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(strings.Join(form, "&")))
	if len(form) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cl.ua != "" {
		req.Header.Set("User-Agent", cl.ua)
	}
	if cl.cookie != "" {
		req.Header.Set("Cookie", cl.cookie)
	}
	rec := httptest.NewRecorder()
	cl.h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		cl.cookie = ck.Name + "=" + ck.Value
	}
	return rec
}

// A message for the next page: queued before a redirect, shown (and
// consumed) by the page the browser lands on.
func ExampleSession_AddFlash() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/cart", func(c *gin.Context) {
		sessions.Default(c).AddFlash("Added to your cart")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "messages: %v", sessions.Default(c).Flashes())
	})

	browser := &exampleClient{h: r}
	browser.do(http.MethodPost, "/cart", "item=book")
	fmt.Println(browser.do(http.MethodGet, "/").Body)
	fmt.Println(browser.do(http.MethodGet, "/").Body)
	// Output:
	// messages: [Added to your cart]
	// messages: []
}

// A counter that concurrent requests of one session never lose a step of:
// the store applies the increment itself.
func ExampleSession_Incr() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/like", func(c *gin.Context) {
		likes := sessions.Default(c).Incr("likes", 1)
		c.String(http.StatusOK, "%d", likes)
	})

	browser := &exampleClient{h: r}
	browser.do(http.MethodPost, "/like") // the first request gets the cookie
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			browser.do(http.MethodPost, "/like") // ten at once, one session
		})
	}
	wg.Wait()
	fmt.Println("likes:", browser.do(http.MethodPost, "/like").Body)
	// Output:
	// likes: 12
}

// "Remember me": a persistent cookie for 30 days when the box is ticked,
// a cookie that ends with the browser otherwise.
func ExampleSession_SetExpiry() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/login", func(c *gin.Context) {
		// Check the password first, then:
		s := sessions.Default(c)
		s.Login(c.PostForm("user"))
		if c.PostForm("remember") == "on" {
			s.SetExpiry(30 * 24 * time.Hour) // a persistent cookie, 30 days after the last save
		} else {
			s.SetExpiry(0) // ends when the browser closes
		}
		c.Redirect(http.StatusSeeOther, "/")
	})

	for _, form := range []string{"user=ada&remember=on", "user=ada"} {
		rec := (&exampleClient{h: r}).do(http.MethodPost, "/login", form)
		ck := rec.Result().Cookies()[0]
		fmt.Printf("%s: Max-Age=%d\n", form, ck.MaxAge)
	}
	// Output:
	// user=ada&remember=on: Max-Age=2592000
	// user=ada: Max-Age=0
}

// Logout: the data and the token are gone, in the store too, and the next
// request starts a new anonymous session.
func ExampleSession_Flush() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/login", func(c *gin.Context) {
		sessions.Default(c).Login(c.PostForm("user"))
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush()
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "user: %q", sessions.Default(c).Principal())
	})

	browser := &exampleClient{h: r}
	browser.do(http.MethodPost, "/login", "user=ada")
	fmt.Println(browser.do(http.MethodGet, "/").Body)
	browser.do(http.MethodPost, "/logout", "")
	fmt.Println(browser.do(http.MethodGet, "/").Body)
	// Output:
	// user: "ada"
	// user: ""
}

// A user's sessions listed from anywhere, with no request: an admin page,
// a support tool.
func ExampleUserSessions() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/login", func(c *gin.Context) {
		sessions.Default(c).Login(c.PostForm("user"))
	})
	(&exampleClient{h: r, ua: "Phone"}).do(http.MethodPost, "/login", "user=ada")
	(&exampleClient{h: r, ua: "Laptop"}).do(http.MethodPost, "/login", "user=ada")

	infos, err := sessions.UserSessions(context.Background(), store, "ada")
	if err != nil {
		fmt.Println(err) // ErrNotSupported on a store without a per-user index
		return
	}
	for _, in := range infos {
		fmt.Println(in.UserAgent, in.IP) // and in.UUID, in.Created, in.LastSeen, in.Expires
	}
	// Output:
	// Laptop 192.0.2.1
	// Phone 192.0.2.1
}

// One device logged out by an administrator: its next request finds a new,
// anonymous session.
func ExampleRevokeSession() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/login", func(c *gin.Context) {
		sessions.Default(c).Login(c.PostForm("user"))
	})
	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "user: %q", sessions.Default(c).Principal())
	})
	phone := &exampleClient{h: r, ua: "Phone"}
	phone.do(http.MethodPost, "/login", "user=ada")

	ctx := context.Background()
	infos, _ := sessions.UserSessions(ctx, store, "ada")
	if err := sessions.RevokeSession(ctx, store, "ada", infos[0].UUID); err != nil {
		fmt.Println(err)
	}
	fmt.Println(phone.do(http.MethodGet, "/").Body)
	// Output:
	// user: ""
}

// A handler that writes its own response on a hijacked connection, as a
// WebSocket upgrader does, gets the session's cookie headers to send.
func ExampleUpgradeHeader() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/ws", func(c *gin.Context) {
		sessions.Default(c).Set("room", "lobby")
		h, err := sessions.UpgradeHeader(c) // saves the session now
		if err != nil {
			return // the error handler has answered
		}
		// Pass h to the upgrader: upgrader.Upgrade(c.Writer, c.Request, h).
		fmt.Println("Set-Cookie:", strings.HasPrefix(h.Get("Set-Cookie"), "sessionid="))
		fmt.Println("Vary:", h.Get("Vary"))
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ws", nil))
	// Output:
	// Set-Cookie: true
	// Vary: Cookie
}

// An API whose clients keep their token in a header rather than a cookie:
// a new token comes back in the same header.
func ExampleWithHeader() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithHeader("X-Session-Token")))
	r.POST("/api/cart", func(c *gin.Context) {
		n := sessions.Default(c).Incr("items", 1)
		c.JSON(http.StatusOK, gin.H{"items": n})
	})

	var token string
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/api/cart", nil)
		if token != "" {
			req.Header.Set("X-Session-Token", token)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if t := rec.Header().Get("X-Session-Token"); t != "" {
			token = t // sent when the session starts or its token changes
		}
		fmt.Println(rec.Body)
	}
	// Output:
	// {"items":1}
	// {"items":2}
}

// Work that outlives the request: read what it needs from the session
// before starting the goroutine, and give it c.Copy() for the request's own
// data. gin reuses the *gin.Context once the handler returns, so the
// goroutine must never touch c or the Session.
func Example_backgroundWork() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	var wg sync.WaitGroup
	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/checkout", func(c *gin.Context) {
		s := sessions.Default(c)
		user, items := s.Principal(), s.GetInt("items") // read now, in the handler
		cc := c.Copy()                                  // safe to keep: its request, path and keys
		wg.Go(func() {
			fmt.Printf("receipt for %s: %d item(s), from %s\n", user, items, cc.Request.URL.Path)
		})
		s.Delete("items")
		c.String(http.StatusAccepted, "a receipt is on its way")
	})
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Login(c.PostForm("user"))
		s.Set("items", 2)
	})

	browser := &exampleClient{h: r}
	browser.do(http.MethodPost, "/login", "user=ada")
	rec := browser.do(http.MethodPost, "/checkout")
	wg.Wait()
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// receipt for ada: 2 item(s), from /checkout
	// 202 a receipt is on its way
}
