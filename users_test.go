package sessions_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// userRoutes adds the routes of a site with accounts: /login?user=…
// binds the session, /me prints the principal, /sessions lists the user's
// sessions as JSON, /revoke?uuid=… ends one, /revoke-others the others,
// /revoke-all?user=… every session of a user, /count increments a counter.
func userRoutes(store sessions.Store) func(r *gin.Engine) {
	return func(r *gin.Engine) {
		kvRoutes(r)
		r.POST("/login", func(c *gin.Context) {
			sessions.Default(c).Login(c.Query("user"))
			c.String(http.StatusOK, "ok")
		})
		r.GET("/me", func(c *gin.Context) {
			c.String(http.StatusOK, "%s", sessions.Default(c).Principal())
		})
		r.GET("/sessions", func(c *gin.Context) {
			infos, err := sessions.Default(c).UserSessions()
			if err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			c.JSON(http.StatusOK, infos)
		})
		r.POST("/revoke", func(c *gin.Context) {
			s := sessions.Default(c)
			if err := sessions.RevokeSession(c, store, s.Principal(), c.Query("uuid")); err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			c.String(http.StatusOK, "ok")
		})
		r.POST("/revoke-others", func(c *gin.Context) {
			n, err := sessions.Default(c).RevokeOtherSessions()
			if err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			c.String(http.StatusOK, "%d", n)
		})
		r.POST("/revoke-all", func(c *gin.Context) {
			n, err := sessions.RevokeUserSessions(c, store, c.Query("user"))
			if err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			c.String(http.StatusOK, "%d", n)
		})
		r.GET("/count", func(c *gin.Context) {
			c.String(http.StatusOK, "%d", sessions.Default(c).Incr("n", 1))
		})
	}
}

// loggedIn returns a client of engine h logged in as user.
func loggedIn(t *testing.T, h http.Handler, user string) *client {
	t.Helper()
	c := newClient(t, h)
	if rec := c.do(http.MethodPost, "/login?user="+user); rec.Code != http.StatusOK {
		t.Fatalf("login as %s: %d %s", user, rec.Code, rec.Body)
	}
	return c
}

// listOf returns what /sessions answers to c.
func listOf(t *testing.T, c *client) []sessions.SessionInfo {
	t.Helper()
	rec := c.get("/sessions")
	if rec.Code != http.StatusOK {
		t.Fatalf("/sessions: %d %s", rec.Code, rec.Body)
	}
	var infos []sessions.SessionInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &infos); err != nil {
		t.Fatalf("/sessions: %v in %s", err, rec.Body)
	}
	return infos
}

func body(t *testing.T, c *client, method, path string) string {
	t.Helper()
	rec := c.do(method, path)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestLoginBindsAndCyclesTheKey(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	c := newClient(t, r)
	c.get("/set?k=cart&v=3")
	before := c.cookie("sessionid")
	c.do(http.MethodPost, "/login?user=ann")
	after := c.cookie("sessionid")
	if after == before || after == "" {
		t.Fatalf("Login kept the token %q", before)
	}
	if got := body(t, c, http.MethodGet, "/me"); got != "ann" {
		t.Fatalf("Principal = %q, want ann", got)
	}
	if got := body(t, c, http.MethodGet, "/get?k=cart"); got != "3" {
		t.Fatalf("Login lost the data: cart = %q", got)
	}
	old := newClient(t, r)
	old.jar.SetCookies(siteURL, []*http.Cookie{{Name: "sessionid", Value: before}})
	if got := body(t, old, http.MethodGet, "/me"); got != "" {
		t.Fatalf("the token from before Login still logs in as %q", got)
	}
}

func TestLoginRecordsTheClient(t *testing.T) {
	longUA := strings.Repeat("é", 200) // 400 bytes
	for _, tc := range []struct {
		name           string
		trusted        []string
		forwarded, ua  string
		wantIP, wantUA string
	}{
		{"direct", nil, "203.0.113.5", "curl/8.5", "192.0.2.1", "curl/8.5"},
		{"through a trusted proxy", []string{"192.0.2.1"}, "203.0.113.5", "curl/8.5", "203.0.113.5", "curl/8.5"},
		{"long User-Agent", nil, "", longUA, "192.0.2.1", strings.Repeat("é", 128)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemoryStore(t)
			r := newEngine(st, nil, userRoutes(st))
			if err := r.SetTrustedProxies(tc.trusted); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, r)
			c.header.Set("X-Forwarded-For", tc.forwarded)
			c.header.Set("User-Agent", tc.ua)
			c.do(http.MethodPost, "/login?user=ann")
			infos := listOf(t, c)
			if len(infos) != 1 {
				t.Fatalf("listed %d sessions, want 1", len(infos))
			}
			if got := infos[0]; got.IP != tc.wantIP || got.UserAgent != tc.wantUA || !utf8.ValidString(got.UserAgent) {
				t.Fatalf("IP %q, User-Agent %q; want %q, %q", got.IP, got.UserAgent, tc.wantIP, tc.wantUA)
			}
		})
	}
}

func TestLoginAsAnotherUserStartsAfresh(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	c := loggedIn(t, r, "ann")
	c.get("/set?k=secret&v=ann's")
	annUUID := listOf(t, c)[0].UUID
	c.do(http.MethodPost, "/login?user=bob")
	if got := body(t, c, http.MethodGet, "/get?k=secret"); got != "<none>" {
		t.Fatalf("bob inherited ann's data: %q", got)
	}
	infos := listOf(t, c)
	if len(infos) != 1 || infos[0].Principal != "bob" || infos[0].UUID == annUUID {
		t.Fatalf("bob's sessions = %+v", infos)
	}
	if ann, err := sessions.UserSessions(context.Background(), st, "ann"); err != nil || len(ann) != 0 {
		t.Fatalf("ann's sessions after bob's login = %+v, %v", ann, err)
	}

	c.get("/set?k=cart&v=1")
	c.do(http.MethodPost, "/login?user=bob")
	if got := body(t, c, http.MethodGet, "/get?k=cart"); got != "1" {
		t.Fatalf("logging in again as the same user lost the data: %q", got)
	}
}

func TestFlushEndsTheBindingClearKeepsIt(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	c := loggedIn(t, r, "ann")
	c.get("/set?k=a&v=1")
	c.get("/clear")
	if got := body(t, c, http.MethodGet, "/me"); got != "ann" {
		t.Fatalf("after Clear, Principal = %q, want ann", got)
	}
	c.get("/flush")
	if got := body(t, c, http.MethodGet, "/me"); got != "" {
		t.Fatalf("after Flush, Principal = %q, want \"\"", got)
	}
	if infos, _ := sessions.UserSessions(context.Background(), st, "ann"); len(infos) != 0 {
		t.Fatalf("after Flush, ann's sessions = %+v", infos)
	}
}

func TestUserSessionsLists(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	r := newEngine(st, []sessions.Option{withClock}, userRoutes(st))
	first := loggedIn(t, r, "ann")
	clk.advance(time.Minute)
	second := loggedIn(t, r, "ann")
	clk.advance(time.Minute)
	loggedIn(t, r, "bob")
	newClient(t, r).get("/set?k=anonymous&v=1")

	rec := first.get("/sessions")
	for _, tok := range []string{first.cookie("sessionid"), second.cookie("sessionid")} {
		if strings.Contains(rec.Body.String(), tok) || strings.Contains(rec.Body.String(), sessions.StoreID(tok)) {
			t.Fatalf("the listing shows a token or its digest: %s", rec.Body)
		}
	}
	infos := listOf(t, first)
	if len(infos) != 2 {
		t.Fatalf("listed %d sessions, want 2: %+v", len(infos), infos)
	}
	// Most recently seen first: the second login, then the first.
	if infos[0].Current || !infos[1].Current || !infos[0].LastSeen.After(infos[1].LastSeen) {
		t.Fatalf("order or Current wrong: %+v", infos)
	}
	for _, in := range infos {
		if in.Principal != "ann" || in.UUID == "" || in.Created.IsZero() || !in.Expires.After(in.LastSeen) {
			t.Fatalf("incomplete SessionInfo %+v", in)
		}
	}
	if got := listOf(t, second); !got[0].Current || got[1].Current {
		t.Fatalf("from the second device: %+v", got)
	}
	if body := newClient(t, r).get("/sessions").Body.String(); body != "null" {
		t.Fatalf("an anonymous session lists %s, want null", body)
	}
}

func TestRevokeOtherSessions(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	here, there, bob := loggedIn(t, r, "ann"), loggedIn(t, r, "ann"), loggedIn(t, r, "bob")
	there.get("/set?k=cart&v=3")
	if got := body(t, here, http.MethodPost, "/revoke-others"); got != "1" {
		t.Fatalf("RevokeOtherSessions = %s, want 1", got)
	}
	if got := body(t, there, http.MethodGet, "/me"); got != "" {
		t.Fatalf("the revoked device is still logged in as %q", got)
	}
	if got := body(t, there, http.MethodGet, "/get?k=cart"); got != "<none>" {
		t.Fatalf("the revoked device kept its data: %q", got)
	}
	for name, c := range map[string]*client{"this device": here, "another user": bob} {
		if got := body(t, c, http.MethodGet, "/me"); got == "" {
			t.Fatalf("%s was logged out", name)
		}
	}
	if got := body(t, newClient(t, r), http.MethodPost, "/revoke-others"); got != "0" {
		t.Fatalf("RevokeOtherSessions of an anonymous session = %s, want 0", got)
	}
}

func TestRevokeSession(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	here, there, bob := loggedIn(t, r, "ann"), loggedIn(t, r, "ann"), loggedIn(t, r, "bob")
	var other string
	for _, in := range listOf(t, here) {
		if !in.Current {
			other = in.UUID
		}
	}
	bobs := listOf(t, bob)[0].UUID
	body(t, here, http.MethodPost, "/revoke?uuid="+other)
	if got := body(t, there, http.MethodGet, "/me"); got != "" {
		t.Fatalf("the revoked session is still logged in as %q", got)
	}
	// Gone already, or another user's: nil, and nothing happens.
	body(t, here, http.MethodPost, "/revoke?uuid="+other)
	body(t, here, http.MethodPost, "/revoke?uuid="+bobs)
	if got := body(t, bob, http.MethodGet, "/me"); got != "bob" {
		t.Fatalf("ann revoked bob's session")
	}
	if n := len(listOf(t, here)); n != 1 {
		t.Fatalf("ann has %d sessions, want 1", n)
	}
}

func TestRevokeUserSessions(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	devices := []*client{loggedIn(t, r, "ann"), loggedIn(t, r, "ann"), loggedIn(t, r, "ann")}
	bob := loggedIn(t, r, "bob")
	if got := body(t, bob, http.MethodPost, "/revoke-all?user=ann"); got != "3" {
		t.Fatalf("RevokeUserSessions = %s, want 3", got)
	}
	for i, c := range devices {
		if got := body(t, c, http.MethodGet, "/me"); got != "" {
			t.Fatalf("device %d still logged in as %q", i, got)
		}
	}
	if got := body(t, bob, http.MethodGet, "/me"); got != "bob" {
		t.Fatalf("bob was logged out")
	}
}

// A request of a session revoked while it runs cannot save: its change is
// refused with 400, and the session stays dead.
func TestRevokedSessionCannotSave(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, func(r *gin.Engine) {
		userRoutes(st)(r)
		r.GET("/revoked-meanwhile", func(c *gin.Context) {
			s := sessions.Default(c)
			p := s.Principal()
			if _, err := sessions.RevokeUserSessions(c, st, p); err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			s.Set("late", "value")
			c.String(http.StatusOK, "saved?")
		})
	})
	c := loggedIn(t, r, "ann")
	id := sessions.StoreID(c.cookie("sessionid"))
	rec := c.get("/revoked-meanwhile")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), sessions.ErrInterrupted.Error()) {
		t.Fatalf("a save of a revoked session: %d %s, want 400 ErrInterrupted", rec.Code, rec.Body)
	}
	if _, found, _ := st.Load(context.Background(), id); found {
		t.Fatal("the revoked session was resurrected")
	}
	if infos, _ := sessions.UserSessions(context.Background(), st, "ann"); len(infos) != 0 {
		t.Fatalf("ann's sessions = %+v", infos)
	}
	if got := body(t, c, http.MethodGet, "/me"); got != "" {
		t.Fatalf("logged in as %q after the revocation", got)
	}
}

func TestMaxSessionsPerUser(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	r := newEngine(st, []sessions.Option{withClock, sessions.WithMaxSessionsPerUser(2)}, userRoutes(st))
	login := func() *client {
		clk.advance(time.Second)
		return loggedIn(t, r, "ann")
	}
	c1, c2, c3 := login(), login(), login()
	bob := loggedIn(t, r, "bob")
	wantLoggedIn := func(want map[*client]bool) {
		t.Helper()
		for c, in := range want {
			if got := body(t, c, http.MethodGet, "/me") != ""; got != in {
				t.Fatalf("a device logged in = %v, want %v", got, in)
			}
		}
	}
	wantLoggedIn(map[*client]bool{c1: false, c2: true, c3: true, bob: true})
	// c2 is now seen more recently than c3, so c3 makes room for c4.
	clk.advance(time.Second)
	c2.get("/set?k=a&v=1")
	c4 := login()
	wantLoggedIn(map[*client]bool{c2: true, c3: false, c4: true, bob: true})
}

func TestUserOptionsPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"negative cap", func() { sessions.WithMaxSessionsPerUser(-1) }},
		{"cap without an index", func() {
			sessions.Middleware(&countingStore{Store: newMemoryStore(t)}, sessions.WithMaxSessionsPerUser(3))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "sessions: ") {
					t.Fatalf("panic = %q, want a sessions: message", msg)
				}
			}()
			tc.fn()
		})
	}
	// A cap of 0 is no cap, on any store.
	sessions.Middleware(&countingStore{Store: newMemoryStore(t)}, sessions.WithMaxSessionsPerUser(0))
}

func TestLoginWithoutPrincipalPanics(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	r.Use(gin.Recovery())
	var msg string
	r.GET("/login-empty", func(c *gin.Context) {
		defer func() { msg, _ = recover().(string) }()
		sessions.Default(c).Login("")
	})
	newClient(t, r).get("/login-empty")
	if !strings.HasPrefix(msg, "sessions: Login") {
		t.Fatalf("Login(\"\") panicked with %q", msg)
	}
}

func TestStoreWithoutIndex(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	r := newEngine(st, nil, userRoutes(st))
	c := loggedIn(t, r, "ann")
	if got := body(t, c, http.MethodGet, "/me"); got != "ann" {
		t.Fatalf("Login on a store without an index: Principal = %q", got)
	}
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["UserSessions"] = sessions.UserSessions(ctx, st, "ann")
	errs["RevokeSession"] = sessions.RevokeSession(ctx, st, "ann", "u")
	_, errs["RevokeUserSessions"] = sessions.RevokeUserSessions(ctx, st, "ann")
	for name, err := range errs {
		if !errors.Is(err, sessions.ErrNotSupported) {
			t.Errorf("%s: err = %v, want ErrNotSupported", name, err)
		}
	}
	for _, route := range []struct{ method, path string }{{http.MethodGet, "/sessions"}, {http.MethodPost, "/revoke-others"}} {
		if rec := c.do(route.method, route.path); !strings.Contains(rec.Body.String(), sessions.ErrNotSupported.Error()) {
			t.Errorf("%s: %d %s, want ErrNotSupported", route.path, rec.Code, rec.Body)
		}
	}
}

func TestUserFunctionsRejectBadInput(t *testing.T) {
	st := newMemoryStore(t)
	ctx := context.Background()
	_, errList := sessions.UserSessions(ctx, st, "")
	_, errAll := sessions.RevokeUserSessions(ctx, st, "")
	for name, err := range map[string]error{
		"UserSessions with no principal":       errList,
		"RevokeUserSessions with no principal": errAll,
		"RevokeSession with no principal":      sessions.RevokeSession(ctx, st, "", "u"),
		"RevokeSession with no uuid":           sessions.RevokeSession(ctx, st, "ann", ""),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "sessions: ") {
			t.Errorf("%s: err = %v, want a sessions: error", name, err)
		}
	}
}

func TestIPRefreshedByALaterSave(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, userRoutes(st))
	if err := r.SetTrustedProxies([]string{"192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, r)
	c.header.Set("X-Forwarded-For", "203.0.113.5")
	c.do(http.MethodPost, "/login?user=ann")
	c.header.Set("X-Forwarded-For", "198.51.100.20")
	c.get("/me") // a read saves nothing
	if ip := listOf(t, c)[0].IP; ip != "203.0.113.5" {
		t.Fatalf("IP after a read = %q, want the login's", ip)
	}
	c.get("/count")
	if ip := listOf(t, c)[0].IP; ip != "198.51.100.20" {
		t.Fatalf("IP after a save = %q, want the new one", ip)
	}
}

// The listing shows what the middleware serves: after a restart with an
// absolute timeout, a session past it is not listed, though the store,
// which saved it without one, still holds it.
func TestUserSessionsFollowTheMiddlewaresTimeouts(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	before := newEngine(st, []sessions.Option{withClock}, userRoutes(st))
	old := loggedIn(t, before, "ann")
	clk.advance(50 * time.Minute)
	fresh := loggedIn(t, before, "ann")
	clk.advance(20 * time.Minute)

	after := newEngine(st, []sessions.Option{withClock, sessions.WithAbsoluteTimeout(time.Hour)}, userRoutes(st))
	old.h, fresh.h = after, after
	if infos, _ := sessions.UserSessions(context.Background(), st, "ann"); len(infos) != 2 {
		t.Fatalf("the store lists %d sessions, want both", len(infos))
	}
	if infos := listOf(t, fresh); len(infos) != 1 || !infos[0].Current {
		t.Fatalf("listed %+v, want only the fresh session", infos)
	}
	if got := body(t, old, http.MethodGet, "/me"); got != "" {
		t.Fatalf("the session past its absolute timeout is served, as %q", got)
	}
}
