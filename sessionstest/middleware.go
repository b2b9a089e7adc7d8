package sessionstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

var middlewareCases = []testCase{
	{"UpdateConcurrentAppendsLoseNone", testConcurrentAppends},
	{"AddFlashConcurrentLosesNone", testConcurrentFlashes},
	{"FlashesKeepsAFlashAddedMeanwhile", testFlashAddedMeanwhile},
	{"UpdateConflictEveryTime", testConflictEveryTime},
}

// middlewareUserCases run on stores that implement sessions.UserStore.
var middlewareUserCases = []userTestCase{
	{"RevokedSessionStaysRevoked", testRevokedStaysRevoked},
	{"ConcurrentLoginsUnderCap", testLoginsUnderCap},
	{"ConcurrentLoginsFromOneCookie", testLoginsFromOneCookie},
}

// RunMiddleware runs the middleware suite: gin requests through
// sessions.Middleware on the store, most of them concurrent and over a
// real HTTP server, that a store which passes Run can still fail when its
// saves are not atomic. Call it beside Run:
//
//	func TestMyStoreMiddleware(t *testing.T) {
//		sessionstest.RunMiddleware(t, func(t *testing.T) sessions.Store { return mystore.New(…) })
//	}
//
// newStore is called once per scenario, as for Run; the scenarios use
// random ids and principals, so stores may share their data. Each scenario
// is a subtest named after it:
//
//   - UpdateConcurrentAppendsLoseNone: 32 concurrent requests of one
//     session append to one list with sessions.Update; all 32 items are
//     kept (anonymous, and logged in when the store is a UserStore).
//   - AddFlashConcurrentLosesNone: 16 concurrent AddFlash calls; the next
//     page shows all 16, the one after none.
//   - FlashesKeepsAFlashAddedMeanwhile: a flash added while another
//     request shows the queue is shown next time.
//   - UpdateConflictEveryTime: when every conditional save conflicts, the
//     request answers 409 after five loads and five saves, and the stored
//     record is left as it was.
//
// When the store implements sessions.UserStore, RunMiddleware also runs:
//
//   - RevokedSessionStaysRevoked: a request whose session is revoked
//     (RevokeUserSessions) or logged out in another tab while it runs
//     answers 400 whatever it then calls, and the session stays dead.
//   - ConcurrentLoginsUnderCap: eight logins of one user at once under
//     WithMaxSessionsPerUser(n) all answer 200 and leave exactly n
//     sessions.
//   - ConcurrentLoginsFromOneCookie: logins at once from one pre-login
//     cookie: one answers 200, the others 400, and one session is left.
//
// Some scenarios wrap the store in one that holds calls back until
// several requests have reached it, so that they meet at the point under
// test; a store must allow concurrent calls. The suite uses the default
// cookie name and no other options than the ones named above.
func RunMiddleware(t *testing.T, newStore func(t *testing.T) sessions.Store) {
	t.Helper()
	runSuite(t, newStore, middlewareCases, middlewareUserCases)
}

// route is a page of the suite's site: it answers with the status and
// body it returns.
type route func(c *gin.Context, s *sessions.Session) (int, string)

// siteRoutes are the pages every scenario's site has.
var siteRoutes = map[string]route{
	"login": func(c *gin.Context, s *sessions.Session) (int, string) {
		s.Login(c.Query("user"))
		return http.StatusOK, "ok"
	},
	"me": func(_ *gin.Context, s *sessions.Session) (int, string) { return http.StatusOK, s.Principal() },
	"seed": func(c *gin.Context, s *sessions.Session) (int, string) {
		s.Set("seeded", true)
		if user := c.Query("login"); user != "" {
			s.Login(user)
		}
		return http.StatusOK, "ok"
	},
	"set": func(c *gin.Context, s *sessions.Session) (int, string) {
		s.Set(c.Query("k"), c.Query("v"))
		return http.StatusOK, "ok"
	},
	"get": func(c *gin.Context, s *sessions.Session) (int, string) {
		return http.StatusOK, fmt.Sprint(s.Get(c.Query("k"), "<none>"))
	},
	"flush": func(_ *gin.Context, s *sessions.Session) (int, string) {
		s.Flush()
		return http.StatusOK, "ok"
	},
	"append": func(c *gin.Context, s *sessions.Session) (int, string) {
		item := c.Query("item")
		cart, err := sessions.Update(s, "cart", func(old []string, _ bool) ([]string, error) { return append(old, item), nil })
		if err != nil {
			return http.StatusInternalServerError, err.Error()
		}
		return http.StatusOK, strconv.Itoa(len(cart)) + " items"
	},
	"cart": func(_ *gin.Context, s *sessions.Session) (int, string) {
		cart, _ := sessions.Value[[]string](s, "cart")
		return jsonOf(cart)
	},
	"flash": func(c *gin.Context, s *sessions.Session) (int, string) {
		s.AddFlash(c.Query("msg"))
		return http.StatusOK, "ok"
	},
	"flashes": func(_ *gin.Context, s *sessions.Session) (int, string) { return jsonOf(s.Flashes()) },
}

func jsonOf(v any) (int, string) {
	b, err := json.Marshal(v)
	if err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	return http.StatusOK, string(b)
}

// site returns an engine with the middleware on store, after the
// handlers in before, serving /{page} from extra or siteRoutes.
func site(store sessions.Store, opts []sessions.Option, extra map[string]route, before ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(before...)
	r.Use(sessions.Middleware(store, opts...))
	r.Any("/:page", func(c *gin.Context) {
		page, ok := extra[c.Param("page")]
		if !ok {
			page, ok = siteRoutes[c.Param("page")]
		}
		if !ok {
			c.String(http.StatusNotFound, "no page %s", c.Param("page"))
			return
		}
		code, body := page(c, sessions.Default(c))
		c.String(code, "%s", body)
	})
	return r
}

// serve starts a real HTTP server for h, closed when t ends.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newBrowser is an HTTP client with cookies of its own.
func newBrowser(t *testing.T) *http.Client {
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
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Error(err)
	}
	return res.StatusCode, string(b)
}

// page sends a GET with hc and fails t unless it answers 200.
func page(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	code, body := call(t, hc, http.MethodGet, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %q", url, code, body)
	}
	return body
}

// atOnce sends a GET of every path at once with hc and fails t unless
// each answers 200.
func atOnce(t *testing.T, hc *http.Client, srv *httptest.Server, paths []string) {
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			if code, body := call(t, hc, http.MethodGet, srv.URL+p); code != http.StatusOK {
				t.Errorf("GET %s: %d %s", p, code, body)
			}
		})
	}
	wg.Wait()
}

// testConcurrentAppends: 32 concurrent requests of one session each append
// an item to the same list with Update, through a real HTTP server; every
// item is there afterwards. A read-modify-write with Value and Set would
// keep a few of them. A logged-in session is saved through the store's
// per-user paths, so both run when the store has them.
func testConcurrentAppends(t *testing.T, st sessions.Store) {
	users := []string{""}
	if _, ok := st.(sessions.UserStore); ok {
		users = append(users, "ann")
	}
	for _, user := range users {
		name := "anonymous"
		if user != "" {
			name = "logged-in"
		}
		t.Run(name, func(t *testing.T) {
			srv := serve(t, site(st, nil, nil))
			hc := newBrowser(t)
			page(t, hc, srv.URL+"/seed?login="+user)
			const n = 32
			var paths, want []string
			for i := range n {
				paths = append(paths, "/append?item=i"+strconv.Itoa(i))
				want = append(want, "i"+strconv.Itoa(i))
			}
			atOnce(t, hc, srv, paths)
			body := page(t, hc, srv.URL+"/cart")
			var got []string
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("cart %q: %v", body, err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("after %d concurrent appends the cart holds %d items: %v", n, len(got), got)
			}
		})
	}
}

// testConcurrentFlashes: 16 concurrent requests each add a flash; the next
// page shows all 16, and the page after none.
func testConcurrentFlashes(t *testing.T, st sessions.Store) {
	srv := serve(t, site(st, nil, nil))
	hc := newBrowser(t)
	page(t, hc, srv.URL+"/seed")
	const n = 16
	var paths []string
	for i := range n {
		paths = append(paths, "/flash?msg=m"+strconv.Itoa(i))
	}
	atOnce(t, hc, srv, paths)
	body := page(t, hc, srv.URL+"/flashes")
	var got []string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("flashes %q: %v", body, err)
	}
	if len(got) != n {
		t.Fatalf("after %d concurrent flashes %d are queued: %v", n, len(got), got)
	}
	if again := page(t, hc, srv.URL+"/flashes"); again != "null" {
		t.Fatalf("flashes shown twice: %s", again)
	}
}

// testFlashAddedMeanwhile: request A shows the queued flash; before it
// answers, request B adds another. A removes only the flash it showed, so
// B's is shown next time.
func testFlashAddedMeanwhile(t *testing.T, st sessions.Store) {
	shown, release := make(chan struct{}), make(chan struct{})
	srv := serve(t, site(st, nil, map[string]route{
		"slow-flashes": func(_ *gin.Context, s *sessions.Session) (int, string) {
			out := fmt.Sprint(s.Flashes())
			close(shown)
			<-release
			return http.StatusOK, out
		},
	}))
	hc := newBrowser(t)
	page(t, hc, srv.URL+"/flash?msg=first")
	done := make(chan string, 1)
	go func() {
		code, body := call(t, hc, http.MethodGet, srv.URL+"/slow-flashes")
		done <- strconv.Itoa(code) + " " + body
	}()
	<-shown
	page(t, hc, srv.URL+"/flash?msg=second")
	close(release)
	if got := <-done; got != "200 [first]" {
		t.Fatalf("request A answered %q", got)
	}
	if got := page(t, hc, srv.URL+"/flashes"); got != `["second"]` {
		t.Fatalf("flashes after A: %s, want the one added meanwhile", got)
	}
}

// sabotageStore changes each expected value before a conditional save, as
// a concurrent request that always gets there first would: every
// conditional save conflicts. It counts the calls and remembers the id
// last loaded.
type sabotageStore struct {
	sessions.Store
	loads, saves atomic.Int64
	id           atomic.Value // string
}

func (s *sabotageStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	s.loads.Add(1)
	s.id.Store(id)
	return s.Store.Load(ctx, id)
}

func (s *sabotageStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	s.saves.Add(1)
	if len(ch.Expect) > 0 {
		ch.Expect = maps.Clone(ch.Expect)
		for k := range ch.Expect {
			ch.Expect[k] = `"someone else's"`
		}
	}
	return s.Store.Save(ctx, id, ch)
}

// testConflictEveryTime: when every save of an updated key conflicts, the
// request fails with ErrConflict (409 from the default error handler)
// after five saves, and nothing of it is saved: not the update, not its
// other keys, not its increments; the stored record is as it was.
func testConflictEveryTime(t *testing.T, st sessions.Store) {
	store := &sabotageStore{Store: st}
	errs := make(chan []string, 1)
	collect := func(c *gin.Context) {
		c.Next()
		if c.Request.URL.Path == "/busy" {
			errs <- c.Errors.Errors()
		}
	}
	srv := serve(t, site(store, nil, map[string]route{
		"busy": func(_ *gin.Context, s *sessions.Session) (int, string) {
			s.Set("other", "changed")
			s.Incr("visits", 1)
			_, _ = sessions.Update(s, "cart", func(old []string, _ bool) ([]string, error) { return append(old, "x"), nil })
			return http.StatusOK, "handler's answer"
		},
		"state": func(_ *gin.Context, s *sessions.Session) (int, string) {
			return http.StatusOK, fmt.Sprintf("%s %d %v", s.GetString("other"), s.GetInt("visits"), s.Get("cart"))
		},
	}, collect))
	hc := newBrowser(t)
	page(t, hc, srv.URL+"/append?item=kept")
	page(t, hc, srv.URL+"/cart")
	id, _ := store.id.Load().(string)
	before, found, err := st.Load(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("Load of the session before the conflict: found=%v err=%v", found, err)
	}
	loads, saves := store.loads.Load(), store.saves.Load()
	code, body := call(t, hc, http.MethodGet, srv.URL+"/busy")
	if code != http.StatusConflict || body != sessions.ErrConflict.Error() {
		t.Fatalf("GET /busy: %d %q, want 409 and ErrConflict's text", code, body)
	}
	if got := <-errs; len(got) != 1 || !strings.Contains(got[0], "5 saves") {
		t.Fatalf("c.Errors = %q", got)
	}
	if l, s := store.loads.Load()-loads, store.saves.Load()-saves; l != 5 || s != 5 {
		t.Fatalf("%d loads and %d saves, want 5 of each (the first load, four re-reads, five saves)", l, s)
	}
	after, found, err := st.Load(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("Load after the conflict: found=%v err=%v", found, err)
	}
	equalValues(t, after.Values, before.Values)
	if got := page(t, hc, srv.URL+"/state"); got != " 0 [kept]" {
		t.Fatalf("after the conflict the session holds %q, want it as it was", got)
	}
}

// testRevokedStaysRevoked: a request holds a logged-in session when
// another request revokes it (RevokeUserSessions) or logs it out (Flush in
// another tab); whatever the request then calls, it answers 400
// (ErrInterrupted) and the session stays dead, listed nowhere.
func testRevokedStaysRevoked(t *testing.T, store sessions.UserStore) {
	ops := []struct {
		name string
		op   func(s *sessions.Session, ann, bob string) error
	}{
		{"CycleKey", func(s *sessions.Session, _, _ string) error { s.CycleKey(); return nil }},
		{"Login same user", func(s *sessions.Session, ann, _ string) error { s.Login(ann); return nil }},
		{"Login other user", func(s *sessions.Session, _, bob string) error { s.Login(bob); return nil }},
		{"Save", func(s *sessions.Session, _, _ string) error { s.Set("x", 1); return s.Save() }},
		{"CycleKey and Save", func(s *sessions.Session, _, _ string) error { s.CycleKey(); return s.Save() }},
	}
	for _, cause := range []string{"revoke", "flush elsewhere"} {
		for _, tt := range ops {
			t.Run(cause+"/"+tt.name, func(t *testing.T) {
				// Users of this case alone: a revocation ends every
				// session of the user.
				ann, bob := newPrincipal("ann"), newPrincipal("bob")
				var r *gin.Engine
				r = site(store, nil, map[string]route{
					"race": func(c *gin.Context, s *sessions.Session) (int, string) {
						if s.Principal() != ann {
							t.Errorf("the request holds %q, want %s", s.Principal(), ann)
						}
						if cause == "revoke" {
							// The request's context, not c: a store's driver may
							// read its context after the call returned, and gin
							// reuses c for the next request.
							if n, err := sessions.RevokeUserSessions(c.Request.Context(), store, ann); n != 1 || err != nil {
								t.Errorf("RevokeUserSessions = %d, %v; want 1, nil", n, err)
							}
						} else { // the same browser logs out in another tab
							req := httptest.NewRequest(http.MethodGet, "/flush", nil)
							req.Header.Set("Cookie", c.GetHeader("Cookie"))
							r.ServeHTTP(httptest.NewRecorder(), req)
						}
						if err := tt.op(s, ann, bob); err != nil && !errors.Is(err, sessions.ErrInterrupted) {
							t.Errorf("op: %v, want nil or ErrInterrupted", err)
						}
						return http.StatusOK, "ok"
					},
				})
				srv := serve(t, r)
				hc := newBrowser(t)
				if code, body := call(t, hc, http.MethodPost, srv.URL+"/login?user="+ann); code != http.StatusOK {
					t.Fatalf("login as %s: %d %s", ann, code, body)
				}
				page(t, hc, srv.URL+"/set?k=cart&v=3")
				if code, body := call(t, hc, http.MethodGet, srv.URL+"/race"); code != http.StatusBadRequest {
					t.Errorf("the racing request answered %d %q, want 400", code, body)
				}
				for _, user := range []string{ann, bob} {
					if infos, err := sessions.UserSessions(t.Context(), store, user); err != nil || len(infos) != 0 {
						t.Errorf("UserSessions(%s) = %d sessions, %v; want none", user, len(infos), err)
					}
				}
				if got := page(t, hc, srv.URL+"/me"); got != "" {
					t.Errorf("the browser is still logged in as %q", got)
				}
				if got := page(t, hc, srv.URL+"/get?k=cart"); got != "<none>" {
					t.Errorf("the revoked session's data came back: cart = %q", got)
				}
			})
		}
	}
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

// testLoginsUnderCap: logins of one user at once, over real HTTP, under
// WithMaxSessionsPerUser(n): every login answers 200 and the user is left
// with exactly n sessions, n browsers logged in. The saves are held until
// all the logins have reached the store, so that they run together every
// round.
func testLoginsUnderCap(t *testing.T, st sessions.UserStore) {
	const logins, rounds = 8, 12
	gate := newGateStore(st, logins, func(op, _ string, ch *sessions.Change) bool {
		return op == "save" && ch.New && ch.Principal != ""
	})
	for _, max := range []int{1, 2} {
		srv := serve(t, site(gate, []sessions.Option{sessions.WithMaxSessionsPerUser(max)}, nil))
		for round := range rounds {
			user := newPrincipal(fmt.Sprintf("ann-%d-%d", max, round))
			gate.reset()
			browsers := make([]*http.Client, logins)
			var wg sync.WaitGroup
			for i := range browsers {
				browsers[i] = newBrowser(t)
				wg.Go(func() {
					if code, body := call(t, browsers[i], http.MethodPost, srv.URL+"/login?user="+user); code != http.StatusOK {
						t.Errorf("login: %d %q", code, body)
					}
				})
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
}

// testLoginsFromOneCookie: one browser sends its pre-login cookie with
// several logins at once (a double-submitted form, tabs). The requests all
// load the anonymous session before any of them replaces it; one login
// wins and the others answer 400: one UUID is one live session.
func testLoginsFromOneCookie(t *testing.T, st sessions.UserStore) {
	const logins, rounds = 4, 5
	var (
		seeding atomic.Bool
		anon    sync.Map // the ids the anonymous sessions are saved under
		seeded  atomic.Int64
	)
	gate := newGateStore(st, logins, func(op, id string, _ *sessions.Change) bool {
		if seeding.Load() {
			if op == "save" {
				anon.Store(id, true)
				seeded.Add(1)
			}
			return false
		}
		_, ok := anon.Load(id)
		return op == "load" && ok
	})
	srv := serve(t, site(gate, nil, nil))
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		user := newPrincipal(fmt.Sprintf("ann-%d", round))
		browser := newBrowser(t)
		seeding.Store(true)
		page(t, browser, srv.URL+"/set?k=cart&v=3")
		seeding.Store(false)
		if seeded.Swap(0) != 1 {
			t.Fatal("the anonymous session was not saved once")
		}
		cookies := browser.Jar.Cookies(u)
		if len(cookies) != 1 {
			t.Fatalf("the browser holds %d cookies, want 1", len(cookies))
		}
		gate.reset()
		codes := make([]int, logins)
		var wg sync.WaitGroup
		for i := range logins {
			tab := newBrowser(t)
			tab.Jar.SetCookies(u, cookies)
			wg.Go(func() {
				codes[i], _ = call(t, tab, http.MethodPost, srv.URL+"/login?user="+user)
			})
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
}
