package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// userStoreKind is a store with a per-user index that the race tests run
// on: memory, a Redis node and a real Redis Cluster.
type userStoreKind struct {
	name string
	open func(t *testing.T) func(t *testing.T) sessions.UserStore
}

var userStoreKinds = []userStoreKind{
	{"memory", func(t *testing.T) func(t *testing.T) sessions.UserStore {
		return func(t *testing.T) sessions.UserStore { return newMemoryStore(t) }
	}},
}

func init() {
	for _, b := range redisBackends {
		userStoreKinds = append(userStoreKinds, userStoreKind{"redis-" + b.name, func(t *testing.T) func(t *testing.T) sessions.UserStore {
			client := b.start(t)
			return func(t *testing.T) sessions.UserStore {
				_, store := testStore(t, client)
				return store
			}
		}})
	}
}

// forEachUserStore runs test on every kind of store, each deployment
// started once.
func forEachUserStore(t *testing.T, test func(t *testing.T, open func(t *testing.T) sessions.UserStore)) {
	for _, k := range userStoreKinds {
		t.Run(k.name, func(t *testing.T) { test(t, k.open(t)) })
	}
}

// TestRevokedSessionStaysRevoked: a request holds a logged-in session when
// another request revokes it (RevokeUserSessions) or logs it out (Flush in
// another tab); whatever the request then calls, it answers 400
// (ErrInterrupted) and the session stays dead, listed nowhere.
func TestRevokedSessionStaysRevoked(t *testing.T) {
	ops := map[string]func(s *sessions.Session) error{
		"CycleKey":         func(s *sessions.Session) error { s.CycleKey(); return nil },
		"Login same user":  func(s *sessions.Session) error { s.Login("ann"); return nil },
		"Login other user": func(s *sessions.Session) error { s.Login("bob"); return nil },
		"Save":             func(s *sessions.Session) error { s.Set("x", 1); return s.Save() },
		"CycleKey and Save": func(s *sessions.Session) error {
			s.CycleKey()
			return s.Save()
		},
	}
	forEachUserStore(t, func(t *testing.T, open func(t *testing.T) sessions.UserStore) {
		for _, cause := range []string{"revoke", "flush elsewhere"} {
			for name, op := range ops {
				t.Run(cause+"/"+name, func(t *testing.T) {
					store := open(t)
					var r *gin.Engine
					r = newEngine(store, nil, func(r *gin.Engine) {
						userRoutes(store)(r)
						r.GET("/race", func(c *gin.Context) {
							s := sessions.Default(c)
							if s.Principal() != "ann" {
								t.Errorf("the request holds %q, want ann", s.Principal())
							}
							switch cause {
							case "revoke":
								if n, err := sessions.RevokeUserSessions(c, store, "ann"); n != 1 || err != nil {
									t.Errorf("RevokeUserSessions = %d, %v; want 1, nil", n, err)
								}
							default: // the same browser logs out in another tab
								req := httptest.NewRequest(http.MethodGet, "/flush", nil)
								req.Header.Set("Cookie", c.GetHeader("Cookie"))
								r.ServeHTTP(httptest.NewRecorder(), req)
							}
							if err := op(s); err != nil && !errors.Is(err, sessions.ErrInterrupted) {
								t.Errorf("op: %v, want nil or ErrInterrupted", err)
							}
							c.String(http.StatusOK, "ok")
						})
					})
					browser := loggedIn(t, r, "ann")
					browser.get("/set?k=cart&v=3")
					rec := browser.get("/race")
					if rec.Code != http.StatusBadRequest {
						t.Errorf("the racing request answered %d %q, want 400", rec.Code, rec.Body)
					}
					for _, user := range []string{"ann", "bob"} {
						if infos, err := sessions.UserSessions(t.Context(), store, user); err != nil || len(infos) != 0 {
							t.Errorf("UserSessions(%s) = %d sessions, %v; want none", user, len(infos), err)
						}
					}
					if got := body(t, browser, http.MethodGet, "/me"); got != "" {
						t.Errorf("the browser is still logged in as %q", got)
					}
					if got := body(t, browser, http.MethodGet, "/get?k=cart"); got != "<none>" {
						t.Errorf("the revoked session's data came back: cart = %q", got)
					}
				})
			}
		}
	})
}

// gateStore holds back calls of one kind until n of them are waiting, or
// until a second has passed, so that concurrent requests interleave at the
// point under test whatever the scheduler does.
type gateStore struct {
	sessions.UserStore
	n    int
	hold func(op string, id string, ch *sessions.Change) bool

	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func newGateStore(st sessions.UserStore, n int, hold func(op, id string, ch *sessions.Change) bool) *gateStore {
	return &gateStore{UserStore: st, n: n, hold: hold, open: make(chan struct{})}
}

// wait blocks until n calls are waiting (or a second has passed).
func (g *gateStore) wait() {
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

// reset arms the gate again.
func (g *gateStore) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting, g.open = 0, make(chan struct{})
}

func (g *gateStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	rec, found, err := g.UserStore.Load(ctx, id)
	if g.hold("load", id, nil) {
		g.wait()
	}
	return rec, found, err
}

func (g *gateStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	if g.hold("save", id, &ch) {
		g.wait()
	}
	return g.UserStore.Save(ctx, id, ch)
}

// httpClient is a browser of a real HTTP server, with its own cookies.
func httpClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// call sends a request with hc and returns the status and body.
func call(t *testing.T, hc *http.Client, method, url string) (int, string) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestConcurrentLoginsUnderCap: logins of one user at once, over real
// HTTP, under WithMaxSessionsPerUser(n): every login answers 200 and the
// user is left with exactly n sessions. The saves are held until all the
// logins have reached the store, so that they run together every round.
func TestConcurrentLoginsUnderCap(t *testing.T) {
	const logins, rounds = 8, 12
	forEachUserStore(t, func(t *testing.T, open func(t *testing.T) sessions.UserStore) {
		gate := newGateStore(open(t), logins, func(op, _ string, ch *sessions.Change) bool {
			return op == "save" && ch.New && ch.Principal != ""
		})
		for _, max := range []int{1, 2} {
			srv := httptest.NewServer(newEngine(gate, []sessions.Option{sessions.WithMaxSessionsPerUser(max)}, userRoutes(gate)))
			t.Cleanup(srv.Close)
			for round := range rounds {
				user := fmt.Sprintf("ann-%d-%d", max, round)
				gate.reset()
				browsers := make([]*http.Client, logins)
				var wg sync.WaitGroup
				for i := range browsers {
					browsers[i] = httpClient(t)
					wg.Add(1)
					go func() {
						defer wg.Done()
						if code, body := call(t, browsers[i], http.MethodPost, srv.URL+"/login?user="+user); code != http.StatusOK {
							t.Errorf("login: %d %q", code, body)
						}
					}()
				}
				wg.Wait()
				infos, err := sessions.UserSessions(t.Context(), gate, user)
				if err != nil {
					t.Fatal(err)
				}
				in := 0
				for _, b := range browsers {
					if _, me := call(t, b, http.MethodGet, srv.URL+"/me"); me == user {
						in++
					}
				}
				if len(infos) != max || in != max {
					t.Fatalf("cap %d, round %d: %d concurrent logins left %d sessions listed, %d browsers logged in; want %d",
						max, round, logins, len(infos), in, max)
				}
			}
		}
	})
}

// TestConcurrentLoginsFromOneCookie: one browser sends its pre-login
// cookie with several logins at once (a double-submitted form, tabs). The
// requests all load the anonymous session before any of them replaces it;
// one login wins and the others answer 400: one UUID is one live session.
func TestConcurrentLoginsFromOneCookie(t *testing.T) {
	const logins, rounds = 4, 5
	forEachUserStore(t, func(t *testing.T, open func(t *testing.T) sessions.UserStore) {
		var anon sync.Map // the anonymous sessions' ids
		gate := newGateStore(open(t), logins, func(op, id string, _ *sessions.Change) bool {
			_, ok := anon.Load(id)
			return op == "load" && ok
		})
		srv := httptest.NewServer(newEngine(gate, nil, userRoutes(gate)))
		t.Cleanup(srv.Close)
		for round := range rounds {
			user := fmt.Sprintf("ann-%d", round)
			browser := httpClient(t)
			call(t, browser, http.MethodGet, srv.URL+"/set?k=cart&v=3")
			cookies := browser.Jar.Cookies(mustURL(t, srv.URL))
			if len(cookies) != 1 {
				t.Fatalf("the browser holds %d cookies, want 1", len(cookies))
			}
			anon.Store(sessions.StoreID(cookies[0].Value), true)
			gate.reset()
			codes := make([]int, logins)
			tabs := make([]*http.Client, logins)
			var wg sync.WaitGroup
			for i := range logins {
				tabs[i] = httpClient(t)
				tabs[i].Jar.SetCookies(mustURL(t, srv.URL), cookies)
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = call(t, tabs[i], http.MethodPost, srv.URL+"/login?user="+user)
				}()
			}
			wg.Wait()
			ok := 0
			for _, code := range codes {
				switch code {
				case http.StatusOK:
					ok++
				case http.StatusBadRequest:
				default:
					t.Errorf("a login answered %d, want 200 or 400", code)
				}
			}
			infos, err := sessions.UserSessions(t.Context(), gate, user)
			if err != nil {
				t.Fatal(err)
			}
			uuids := map[string]bool{}
			for _, info := range infos {
				uuids[info.UUID] = true
			}
			if ok != 1 || len(infos) != 1 || len(uuids) != 1 {
				t.Fatalf("round %d: %d logins from one cookie: %d answered 200, %d sessions listed with %d UUIDs; want 1, 1, 1 (codes %v)",
					round, logins, ok, len(infos), len(uuids), codes)
			}
		}
	})
}

// TestFromContextWithContextKey: a net/http handler finds the session of
// a middleware that uses WithContextKey, from the request's context and
// from the gin.Context.
func TestFromContextWithContextKey(t *testing.T) {
	r := newEngine(newMemoryStore(t), []sessions.Option{sessions.WithContextKey("admin"), sessions.WithCookieName("adminid")}, func(r *gin.Engine) {
		r.GET("/wrapped", gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := sessions.FromContext(r.Context())
			if !ok {
				http.Error(w, "no session", http.StatusInternalServerError)
				return
			}
			s.Set("from", "wrapped")
			_, _ = io.WriteString(w, "ok")
		})))
		r.GET("/gin", func(c *gin.Context) {
			s, ok := sessions.FromContext(c)
			if !ok {
				c.String(http.StatusInternalServerError, "no session")
				return
			}
			c.String(http.StatusOK, "%v", s.Get("from"))
		})
	})
	browser := newClient(t, r)
	if rec := browser.get("/wrapped"); rec.Code != http.StatusOK {
		t.Fatalf("/wrapped: %d %q", rec.Code, rec.Body)
	}
	if rec := browser.get("/gin"); rec.Code != http.StatusOK || rec.Body.String() != "wrapped" {
		t.Fatalf("/gin: %d %q, want 200 \"wrapped\"", rec.Code, rec.Body)
	}
}

// TestHandleContextBehindDerivedContext: gin's HandleContext sends the
// request through the chain again after a middleware replaced the
// request's context (c.Request.WithContext, as timeout and tracing
// middlewares do), before or after the session middleware, and with two
// session middlewares: the inner run keeps the request's sessions.
func TestHandleContextBehindDerivedContext(t *testing.T) {
	type ctxMark struct{}
	derive := func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(context.WithValue(c.Request.Context(), ctxMark{}, true), time.Minute)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
	store := newMemoryStore(t)
	admin := []sessions.Option{sessions.WithContextKey("admin"), sessions.WithCookieName("adminid")}
	tests := []struct {
		name        string
		middlewares []gin.HandlerFunc
		keys        []string
	}{
		{"derived before", []gin.HandlerFunc{derive, sessions.Middleware(store)}, []string{sessions.ContextKey}},
		{"derived after", []gin.HandlerFunc{sessions.Middleware(store), derive}, []string{sessions.ContextKey}},
		{"two session middlewares", []gin.HandlerFunc{sessions.Middleware(store), sessions.Middleware(store, admin...)}, []string{sessions.ContextKey, "admin"}},
		{"two session middlewares, derived between", []gin.HandlerFunc{sessions.Middleware(store), derive, sessions.Middleware(store, admin...)}, []string{sessions.ContextKey, "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.Use(tt.middlewares...)
			session := func(c *gin.Context, key string) *sessions.Session { return c.MustGet(key).(*sessions.Session) }
			r.GET("/start", func(c *gin.Context) {
				for _, k := range tt.keys {
					session(c, k).Set("a", "before")
				}
				c.Request.URL.Path = "/end"
				r.HandleContext(c)
			})
			r.GET("/end", func(c *gin.Context) {
				for _, k := range tt.keys {
					session(c, k).Set("b", "after")
				}
				c.String(http.StatusOK, "ok")
			})
			r.GET("/show", func(c *gin.Context) {
				var out []string
				for _, k := range tt.keys {
					s := session(c, k)
					out = append(out, fmt.Sprintf("%v,%v", s.Get("a"), s.Get("b")))
				}
				c.String(http.StatusOK, "%s", strings.Join(out, " "))
			})
			browser := newClient(t, r)
			if rec := browser.get("/start"); rec.Code != http.StatusOK {
				t.Fatalf("/start: %d %q", rec.Code, rec.Body)
			}
			want := strings.TrimSpace(strings.Repeat("before,after ", len(tt.keys)))
			if got := body(t, browser, http.MethodGet, "/show"); got != want {
				t.Fatalf("after HandleContext: %q, want %q", got, want)
			}
		})
	}
}

// TestRedisSaveThenCommitKeepsIndex: after Login and Save(), the commit
// checks the early save; that check moves the record's expiry, and must
// move its user's index's too, so that the index never dies before a
// session it holds.
func TestRedisSaveThenCommitKeepsIndex(t *testing.T) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) {
			client := b.start(t)
			rdb := client(t)
			prefix := testPrefix(t, rdb)
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
			var (
				mu  sync.Mutex
				now = time.Now()
			)
			clock := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			}
			r := newEngine(store, []sessions.Option{sessions.WithClock(clock), sessions.WithExpireAtBrowserClose(false)}, func(r *gin.Engine) {
				userRoutes(store)(r)
				r.POST("/login-save", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Login("ann")
					if err := s.Save(); err != nil {
						t.Errorf("Save: %v", err)
					}
					// A slow answer: the commit comes an hour later.
					mu.Lock()
					now = now.Add(time.Hour)
					mu.Unlock()
					c.String(http.StatusOK, "ok")
				})
			})
			browser := newClient(t, r)
			if rec := browser.do(http.MethodPost, "/login-save"); rec.Code != http.StatusOK {
				t.Fatalf("login: %d %q", rec.Code, rec.Body)
			}
			record, index := userKeys(t, store, prefix, "ann", browser)
			recAt, idxAt := rdb.PExpireTime(t.Context(), record).Val(), rdb.PExpireTime(t.Context(), index).Val()
			if recAt <= 0 || idxAt < recAt {
				t.Errorf("the record expires at %v, its index at %v: the index must outlive the record", recAt, idxAt)
			}
			if n, err := sessions.RevokeUserSessions(t.Context(), store, "ann"); n != 1 || err != nil {
				t.Errorf("RevokeUserSessions = %d, %v; want 1, nil", n, err)
			}
		})
	}
}

// mustURL parses a test server's URL.
func mustURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
