package pgstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// userEngine is engine with a login (/login?user=…), /me and /race, where
// the request's session is revoked by RevokeUserSessions before op runs.
func userEngine(store sessions.UserStore, op func(s *sessions.Session), opts ...sessions.Option) *gin.Engine {
	r := engine(store, opts...)
	r.POST("/login", func(c *gin.Context) {
		sessions.Default(c).Login(c.Query("user"))
		c.String(http.StatusOK, "in")
	})
	r.GET("/me", func(c *gin.Context) { c.String(http.StatusOK, sessions.Default(c).Principal()) })
	r.GET("/race", func(c *gin.Context) {
		s := sessions.Default(c)
		_, _ = sessions.RevokeUserSessions(c, store, s.Principal())
		op(s)
		c.String(http.StatusOK, "ok")
	})
	return r
}

// TestRevokedSessionStaysRevoked: a request holds ann's session when
// another revokes it; CycleKey or Login then answer 400 and bring nothing
// back.
func TestRevokedSessionStaysRevoked(t *testing.T) {
	store, _, _ := newStore(t)
	for name, op := range map[string]func(s *sessions.Session){
		"CycleKey":         func(s *sessions.Session) { s.CycleKey() },
		"Login same user":  func(s *sessions.Session) { s.Login("ann") },
		"Login other user": func(s *sessions.Session) { s.Login("bob") },
	} {
		t.Run(name, func(t *testing.T) {
			r := userEngine(store, op)
			req := httptest.NewRequest(http.MethodPost, "/login?user=ann", nil)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			cookie := sessionCookie(t, w)
			if w := get(r, "/race", cookie); w.Code != http.StatusBadRequest {
				t.Errorf("the racing request answered %d %q, want 400", w.Code, w.Body)
			}
			for _, user := range []string{"ann", "bob"} {
				if infos, err := sessions.UserSessions(testCtx(t), store, user); err != nil || len(infos) != 0 {
					t.Errorf("UserSessions(%s) = %d sessions, %v; want none", user, len(infos), err)
				}
			}
		})
	}
}

// gate holds back the calls that hold selects until n of them wait (or a
// second has passed), so that concurrent requests meet at that point.
type gate struct {
	sessions.UserStore
	n    int
	hold func(op, id string, ch *sessions.Change) bool

	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func (g *gate) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting, g.open = 0, make(chan struct{})
}

func (g *gate) wait() {
	g.mu.Lock()
	g.waiting++
	if g.waiting == g.n {
		close(g.open)
	}
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
	case <-time.After(time.Second):
	}
}

func (g *gate) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	rec, found, err := g.UserStore.Load(ctx, id)
	if g.hold("load", id, nil) {
		g.wait()
	}
	return rec, found, err
}

func (g *gate) Save(ctx context.Context, id string, ch sessions.Change) error {
	if g.hold("save", id, &ch) {
		g.wait()
	}
	return g.UserStore.Save(ctx, id, ch)
}

func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func send(t *testing.T, hc *http.Client, method, url string) (int, string) {
	req, _ := http.NewRequest(method, url, nil)
	res, err := hc.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestConcurrentLoginsUnderCap: eight logins of one user at once, over
// real HTTP, under WithMaxSessionsPerUser(n), their saves held until all
// have reached the store: the user is left with exactly n sessions.
func TestConcurrentLoginsUnderCap(t *testing.T) {
	const logins, rounds = 8, 10
	store, _, _ := newStore(t)
	g := &gate{UserStore: store, n: logins, hold: func(op, _ string, ch *sessions.Change) bool {
		return op == "save" && ch.New && ch.Principal != ""
	}}
	for _, max := range []int{1, 2} {
		srv := httptest.NewServer(userEngine(g, func(*sessions.Session) {}, sessions.WithMaxSessionsPerUser(max)))
		t.Cleanup(srv.Close)
		for round := range rounds {
			user := fmt.Sprintf("ann-%d-%d", max, round)
			g.reset()
			var wg sync.WaitGroup
			for range logins {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, body := send(t, browser(t), http.MethodPost, srv.URL+"/login?user="+user); code != http.StatusOK {
						t.Errorf("login: %d %q", code, body)
					}
				}()
			}
			wg.Wait()
			infos, err := sessions.UserSessions(testCtx(t), store, user)
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != max {
				t.Fatalf("cap %d, round %d: %d concurrent logins left %d sessions, want %d", max, round, logins, len(infos), max)
			}
		}
	}
}

// TestConcurrentLoginsFromOneCookie: logins at once with one pre-login
// cookie, all loaded before any replaces it: one answers 200, the others
// 400, and the user has one session.
func TestConcurrentLoginsFromOneCookie(t *testing.T) {
	const logins, rounds = 4, 5
	store, _, _ := newStore(t)
	var anon sync.Map
	g := &gate{UserStore: store, n: logins, hold: func(op, id string, _ *sessions.Change) bool {
		_, ok := anon.Load(id)
		return op == "load" && ok
	}}
	srv := httptest.NewServer(userEngine(g, func(*sessions.Session) {}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	for round := range rounds {
		user := fmt.Sprintf("ann-%d", round)
		first := browser(t)
		send(t, first, http.MethodGet, srv.URL+"/new")
		cookies := first.Jar.Cookies(u)
		if len(cookies) != 1 {
			t.Fatalf("%d cookies, want 1", len(cookies))
		}
		anon.Store(rowID(cookies[0]), true)
		g.reset()
		codes := make([]int, logins)
		var wg sync.WaitGroup
		for i := range logins {
			tab := browser(t)
			tab.Jar.SetCookies(u, cookies)
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = send(t, tab, http.MethodPost, srv.URL+"/login?user="+user)
			}()
		}
		wg.Wait()
		ok := 0
		for _, code := range codes {
			if code == http.StatusOK {
				ok++
			}
		}
		infos, err := sessions.UserSessions(testCtx(t), store, user)
		if err != nil {
			t.Fatal(err)
		}
		if ok != 1 || len(infos) != 1 {
			t.Fatalf("round %d: %d logins from one cookie: codes %v, %d sessions; want one 200 and one session", round, logins, codes, len(infos))
		}
	}
}
