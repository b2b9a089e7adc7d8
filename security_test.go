package sessions_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

func TestEmptiedSessionsDisappear(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
	}{
		{"Clear", "/clear"},
		{"delete the last key", "/del?k=a"},
		{"Flush", "/flush"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemoryStore(t)
			opts := []sessions.Option{sessions.WithCookiePath("/"), sessions.WithCookieDomain("example.com"), sessions.WithSameSite(http.SameSiteStrictMode)}
			cl := newClient(t, newEngine(st, opts, kvRoutes))
			cl.get("/set?k=a&v=1")
			token := cl.cookie("sessionid")
			rec := cl.get(tc.path)
			sc := cookieHeader(t, rec)
			for _, want := range []string{"sessionid=;", "Path=/;", "Domain=example.com;", "Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT", "SameSite=Strict"} {
				if !strings.Contains(sc, want) {
					t.Fatalf("expiring Set-Cookie %q lacks %q", sc, want)
				}
			}
			if st.Len() != 0 {
				t.Fatalf("store still holds %d records", st.Len())
			}
			if cl.cookie("sessionid") != "" {
				t.Fatal("the browser kept the cookie")
			}
			// The old token is dead even if a client replays it.
			replay := newClient(t, newEngine(st, opts, kvRoutes))
			replay.header.Set("Cookie", "sessionid="+token)
			if got := replay.get("/get?k=a").Body.String(); got != "<none>" {
				t.Fatalf("replayed token served %q", got)
			}
		})
	}
	t.Run("no cookie, no Set-Cookie", func(t *testing.T) {
		cl := newClient(t, newEngine(newMemoryStore(t), nil, kvRoutes))
		for _, path := range []string{"/clear", "/flush", "/del?k=a"} {
			if sc := setCookies(cl.get(path)); len(sc) != 0 {
				t.Fatalf("%s without a cookie set %q", path, sc)
			}
		}
	})
}

func TestVaryCookie(t *testing.T) {
	r := newEngine(newMemoryStore(t), []sessions.Option{sessions.WithHeader("X-Session-Token")}, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/vary", func(c *gin.Context) {
			c.Header("Vary", "Accept-Encoding")
			sessions.Default(c).Get("a")
			c.String(http.StatusOK, "ok")
		})
	})
	got := newClient(t, r).get("/vary").Result().Header.Values("Vary")
	if strings.Join(got, ",") != "Accept-Encoding,Cookie,X-Session-Token" {
		t.Fatalf("Vary = %q", got)
	}
}

func TestUntrustedTokensAreNeverAdopted(t *testing.T) {
	st := newMemoryStore(t)
	legit := newClient(t, newEngine(st, nil, kvRoutes))
	legit.get("/set?k=a&v=1")
	valid := legit.cookie("sessionid")
	clk := newClock()
	clk.now = time.Now().Add(15 * 24 * time.Hour)
	expiredEngine := newEngine(st, []sessions.Option{sessions.WithClock(clk.Now)}, kvRoutes)

	for _, tc := range []struct {
		name, cookie string
		h            http.Handler
	}{
		{"unknown", strings.Repeat("A", 43), nil},
		{"malformed", "not a token", nil},
		{"wrong alphabet", strings.Repeat("+", 43), nil},
		{"too short", valid[:42], nil},
		{"too long", valid + "A", nil},
		{"oversized", strings.Repeat("x", 8000), nil},
		{"store id instead of token", sessions.StoreID(valid), nil},
		{"expired", valid, expiredEngine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counted := &countingStore{Store: st}
			h := tc.h
			if h == nil {
				h = newEngine(counted, nil, kvRoutes)
			}
			cl := newClient(t, h)
			cl.header.Set("Cookie", "sessionid="+tc.cookie)
			if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
				t.Fatalf("served %q for a %s token", got, tc.name)
			}
			rec := cl.get("/set?k=b&v=2")
			issued := tokenOf(cookieHeader(t, rec))
			if issued == tc.cookie || issued == valid || len(issued) != 43 {
				t.Fatalf("issued token %q for offered %q", issued, tc.cookie)
			}
			if tc.h == nil && len(tc.cookie) != 43 {
				if loads, _, _, _ := counted.calls(); loads != 0 {
					t.Fatalf("a malformed token reached the store (%d loads)", loads)
				}
			}
		})
	}
	if got := legit.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("the legitimate session was disturbed: %q", got)
	}
}

func TestCycleKeyKillsTheOldToken(t *testing.T) {
	st := newMemoryStore(t)
	cl := newClient(t, newEngine(st, nil, kvRoutes))
	cl.get("/set?k=a&v=1")
	old := cl.cookie("sessionid")
	rec := cl.get("/cycle")
	fresh := tokenOf(cookieHeader(t, rec))
	if fresh == old || cl.cookie("sessionid") != fresh {
		t.Fatalf("CycleKey issued %q (old %q)", fresh, old)
	}
	if got := cl.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("CycleKey lost the data: %q", got)
	}
	replay := newClient(t, newEngine(st, nil, kvRoutes))
	replay.header.Set("Cookie", "sessionid="+old)
	if got := replay.get("/get?k=a").Body.String(); got != "<none>" {
		t.Fatalf("the old token still works: %q", got)
	}
	if st.Len() != 1 {
		t.Fatalf("store holds %d records, want 1", st.Len())
	}
}

func TestCookieOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sessions.Option
		want []string
		not  []string
	}{
		{"secure", []sessions.Option{sessions.WithSecure(true)}, []string{"; Secure"}, nil},
		{"script-visible", []sessions.Option{sessions.WithHTTPOnly(false)}, nil, []string{"HttpOnly"}},
		{"strict", []sessions.Option{sessions.WithSameSite(http.SameSiteStrictMode)}, []string{"SameSite=Strict"}, nil},
		{"none", []sessions.Option{sessions.WithSameSite(http.SameSiteNoneMode), sessions.WithSecure(true)}, []string{"SameSite=None", "Secure"}, nil},
		{"domain and path", []sessions.Option{sessions.WithCookieDomain("example.com"), sessions.WithCookiePath("/app")}, []string{"Domain=example.com", "Path=/app"}, nil},
		{"name", []sessions.Option{sessions.WithCookieName("sid")}, []string{"sid="}, []string{"sessionid"}},
		{"__Host- prefix", []sessions.Option{sessions.WithCookieName("__Host-sid"), sessions.WithSecure(true)}, []string{"__Host-sid=", "Path=/", "Secure"}, []string{"Domain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newEngine(newMemoryStore(t), tc.opts, func(r *gin.Engine) {
				r.GET("/app/set", func(c *gin.Context) {
					sessions.Default(c).Set("a", 1)
					c.String(http.StatusOK, "ok")
				})
			})
			sc := cookieHeader(t, newClient(t, r).get("/app/set"))
			for _, w := range tc.want {
				if !strings.Contains(sc, w) {
					t.Errorf("Set-Cookie %q lacks %q", sc, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(sc, n) {
					t.Errorf("Set-Cookie %q has %q", sc, n)
				}
			}
		})
	}
}

func TestImpossibleSettingsPanic(t *testing.T) {
	st := newMemoryStore(t)
	for name, fn := range map[string]func(){
		"empty cookie name":     func() { sessions.WithCookieName("") },
		"invalid cookie name":   func() { sessions.WithCookieName("a b") },
		"zero age":              func() { sessions.WithCookieAge(0) },
		"negative age":          func() { sessions.WithCookieAge(-time.Second) },
		"relative path":         func() { sessions.WithCookiePath("app") },
		"negative idle":         func() { sessions.WithIdleTimeout(-1) },
		"negative absolute":     func() { sessions.WithAbsoluteTimeout(-1) },
		"nil error handler":     func() { sessions.WithErrorHandler(nil) },
		"empty context key":     func() { sessions.WithContextKey("") },
		"nil store":             func() { sessions.Middleware(nil) },
		"SameSite=None, no TLS": func() { sessions.Middleware(st, sessions.WithSameSite(http.SameSiteNoneMode)) },
		"__Host- without TLS":   func() { sessions.Middleware(st, sessions.WithCookieName("__Host-sid")) },
		"__Host- with a domain": func() {
			sessions.Middleware(st, sessions.WithCookieName("__Host-sid"), sessions.WithSecure(true), sessions.WithCookieDomain("example.com"))
		},
		"__Secure- without TLS": func() { sessions.Middleware(st, sessions.WithCookieName("__Secure-sid")) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "sessions: ") {
					t.Fatalf("panic %q, want a sessions: message", msg)
				}
			}()
			fn()
		})
	}
}

func TestHeaderTokens(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, []sessions.Option{sessions.WithHeader("X-Session-Token")}, kvRoutes)
	do := func(path, token string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, siteURL.String()+strings.TrimPrefix(path, "/"), nil)
		if token != "" {
			req.Header.Set("X-Session-Token", token)
		}
		rec := newRecorder()
		r.ServeHTTP(rec, req)
		return rec.Result()
	}
	res := do("/set?k=a&v=1", "")
	token := res.Header.Get("X-Session-Token")
	if len(token) != 43 {
		t.Fatalf("no token in the response header: %q", token)
	}
	res = do("/get?k=a", token)
	body := readBody(t, res)
	if body != "1" {
		t.Fatalf("header token not honoured: %q", body)
	}
	if h := res.Header.Get("X-Session-Token"); h != "" {
		t.Fatalf("token re-sent although unchanged: %q", h)
	}
	res = do("/cycle", token)
	if fresh := res.Header.Get("X-Session-Token"); fresh == "" || fresh == token {
		t.Fatalf("CycleKey did not return the new token: %q", fresh)
	}
	if body := readBody(t, do("/get?k=a", token)); body != "<none>" {
		t.Fatalf("old header token still works: %q", body)
	}
	if body := readBody(t, do("/get?k=a", "forged")); body != "<none>" {
		t.Fatalf("forged header token: %q", body)
	}
}

func TestInvalidCookieDomainPanics(t *testing.T) {
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "WithCookieDomain") {
			t.Fatalf("panic %q", msg)
		}
	}()
	sessions.Middleware(newMemoryStore(t), sessions.WithCookieDomain("bad domain;"))
}
