package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ginsessions/sessions"
)

// siteOrigin is where the tests' requests say the site is: their Host
// header, and the Origin a browser sends from the site's own pages.
const siteOrigin = "http://127.0.0.1:8080"

// trustedOrigin is a front-end on another origin that the site lets post.
const trustedOrigin = "https://app.example.com"

// visitor is one browser: it keeps the session cookie between requests
// sent through the site's handler.
type visitor struct {
	t       *testing.T
	handler http.Handler
	cookie  *http.Cookie
}

func newVisitor(t *testing.T, store sessions.Store) *visitor {
	t.Helper()
	h, err := newHandler(store, []string{trustedOrigin})
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{t: t, handler: h}
}

// send makes one request with the given headers (name, value, name, value...)
// and keeps any session cookie the site sets.
func (v *visitor) send(method, path string, header ...string) *httptest.ResponseRecorder {
	v.t.Helper()
	req := httptest.NewRequest(method, siteOrigin+path, strings.NewReader(""))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if v.cookie != nil {
		req.AddCookie(v.cookie)
	}
	rec := httptest.NewRecorder()
	v.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "sessionid" {
			v.cookie = c
		}
	}
	return rec
}

// hasGreeting reads the greeting page the way the site's own links do.
func (v *visitor) hasGreeting() bool {
	v.t.Helper()
	rec := v.send(http.MethodGet, "/greeting", "Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusOK {
		v.t.Fatalf("GET /greeting: status %d", rec.Code)
	}
	return !strings.Contains(rec.Body.String(), `id="greeting-missing"`)
}

// The browser headers of a POST to /greeting/set, and whether the site must
// refuse it. Browsers since 2023 send Sec-Fetch-Site; older ones only Origin.
var greetingPosts = []struct {
	name    string
	header  []string
	refused bool
}{
	{"same-origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", siteOrigin}, false},
	{"cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example"}, true},
	{"same-site page on another port", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:9000"}, true},
	{"old browser, Origin is the site", []string{"Origin", siteOrigin}, false},
	{"old browser, Origin of another site", []string{"Origin", "https://attacker.example"}, true},
	{"old browser, Origin on another port", []string{"Origin", "http://127.0.0.1:9000"}, true},
	{"no browser headers (curl, a server)", nil, false},
	{"trusted origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", trustedOrigin}, false},
	{"trusted origin, old browser", []string{"Origin", trustedOrigin}, false},
	{"trusted origin spelled with a path", []string{"Sec-Fetch-Site", "cross-site", "Origin", trustedOrigin + "/"}, true},
}

func TestGreetingPostFromOtherOrigins(t *testing.T) {
	for _, tc := range greetingPosts {
		t.Run(tc.name, func(t *testing.T) {
			store := newCountingStore(t)
			v := newVisitor(t, store)
			v.send(http.MethodGet, "/")
			if v.cookie == nil {
				t.Fatal("the home page set no session cookie")
			}
			before := *v.cookie
			store.calls.Store(0)

			rec := v.send(http.MethodPost, "/greeting/set", tc.header...)
			calls := store.calls.Load()

			if !tc.refused {
				if rec.Code != http.StatusSeeOther || calls == 0 {
					t.Fatalf("status %d after %d store calls, want 303 and the session saved", rec.Code, calls)
				}
				if !v.hasGreeting() {
					t.Fatal("the greeting was not stored")
				}
				return
			}
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", rec.Code)
			}
			if calls != 0 {
				t.Errorf("the refused request made %d store calls, want none", calls)
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("the refused request set cookies %q", sc)
			}
			if v.cookie.Value != before.Value {
				t.Error("the refused request changed the session cookie")
			}
			if v.hasGreeting() {
				t.Error("the refused request stored the greeting")
			}
		})
	}
}

// Every route that is not a safe method is refused from another origin,
// whoever added it: the protection wraps the router, not a list of routes.
func TestEveryPostRouteRefusesOtherOrigins(t *testing.T) {
	forged := [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:9000"},
		{"Origin", "https://attacker.example"},
	}
	probe := sessions.NewMemoryStore()
	defer probe.Close()
	routes := 0
	for _, route := range newRouter(probe).Routes() {
		if isSafe(route.Method) {
			continue
		}
		routes++
		for _, header := range forged {
			t.Run(route.Method+" "+route.Path+" "+strings.Join(header, " "), func(t *testing.T) {
				store := newCountingStore(t)
				v := newVisitor(t, store)
				v.send(http.MethodGet, "/")
				store.calls.Store(0)

				rec := v.send(route.Method, route.Path, header...)
				if rec.Code != http.StatusForbidden {
					t.Errorf("status %d, want 403", rec.Code)
				}
				if n := store.calls.Load(); n != 0 {
					t.Errorf("%d store calls, want none", n)
				}
				if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("cookies set: %q", sc)
				}
			})
		}
	}
	if routes == 0 {
		t.Fatal("the router has no POST route to check")
	}
}

// A GET is never refused, from wherever it comes: which is why no GET
// handler may change anything that matters.
func TestGetIsNeverRefused(t *testing.T) {
	store := sessions.NewMemoryStore()
	defer store.Close()
	routes := 0
	for _, route := range newRouter(store).Routes() {
		if route.Method != http.MethodGet {
			continue
		}
		routes++
		t.Run(route.Path, func(t *testing.T) {
			v := newVisitor(t, store)
			rec := v.send(http.MethodGet, route.Path, "Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example")
			if rec.Code == http.StatusForbidden || rec.Code >= 500 {
				t.Errorf("status %d, want the page", rec.Code)
			}
		})
	}
	if routes == 0 {
		t.Fatal("the router has no GET route to check")
	}
}

func isSafe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

func TestTrustedOrigins(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		wantErr string // "" for none
	}{
		{"", nil, ""},
		{"https://app.example.com", []string{"https://app.example.com"}, ""},
		{" https://a.example.com, http://127.0.0.1:3000 https://b.example.com ", []string{"https://a.example.com", "http://127.0.0.1:3000", "https://b.example.com"}, ""},
		{"app.example.com", nil, "scheme is required"},
		{"https://app.example.com/", nil, "path, query, and fragment are not allowed"},
		{"https://", nil, "host is required"},
		{"https://app.example.com,https://b.example.com/login", nil, "path, query, and fragment are not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			origins := splitOrigins(tc.list)
			_, err := newHandler(newCountingStore(t), origins)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "CSRF_TRUSTED_ORIGINS: ") {
					t.Fatalf("error %v, want CSRF_TRUSTED_ORIGINS: ...%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(origins, " ") != strings.Join(tc.want, " ") {
				t.Errorf("origins %q, want %q", origins, tc.want)
			}
		})
	}
}
