package sessions_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ginsessions/sessions"
)

// Every Set-Cookie line the middleware writes carries Partitioned exactly
// when it is on: the cookie of a new session, the refreshed persistent one
// and the expiring one.
func TestPartitionedCookie(t *testing.T) {
	secure := sessions.WithSecure(true)
	on := sessions.WithPartitioned(true)
	for _, tc := range []struct {
		name        string
		opts        []sessions.Option
		partitioned bool
		sameSite    http.SameSite
	}{
		{"default", nil, false, http.SameSiteLaxMode},
		{"off", []sessions.Option{secure, sessions.WithPartitioned(false)}, false, http.SameSiteLaxMode},
		{"on", []sessions.Option{secure, on}, true, http.SameSiteLaxMode},
		{"on, SameSite=None", []sessions.Option{secure, on, sessions.WithSameSite(http.SameSiteNoneMode)}, true, http.SameSiteNoneMode},
		{"on, SameSite=Strict", []sessions.Option{secure, on, sessions.WithSameSite(http.SameSiteStrictMode)}, true, http.SameSiteStrictMode},
		{"on, no SameSite", []sessions.Option{secure, on, sessions.WithSameSite(http.SameSiteDefaultMode)}, true, 0}, // 0: ParseSetCookie found no attribute
		{"on, persistent", []sessions.Option{secure, on, sessions.WithExpireAtBrowserClose(false)}, true, http.SameSiteLaxMode},
		{"off, SameSite=None", []sessions.Option{secure, sessions.WithSameSite(http.SameSiteNoneMode)}, false, http.SameSiteNoneMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newEngine(newMemoryStore(t), tc.opts, kvRoutes)
			// The cookie is Secure in most cases, so the test plays the
			// browser itself rather than trusting a jar with http URLs.
			do := func(path, token string) string {
				req, _ := http.NewRequest(http.MethodGet, "https://example.com"+path, nil)
				if token != "" {
					req.Header.Set("Cookie", "sessionid="+token)
				}
				rec := newRecorder()
				r.ServeHTTP(rec, req)
				return cookieHeader(t, rec)
			}
			created := do("/set?k=a&v=1", "")
			lines := map[string]string{"new session": created, "expiring": do("/clear", tokenOf(created))}
			if strings.Contains(created, "Max-Age=") {
				// A persistent cookie is sent again with every save.
				lines["persistent, refreshed"] = do("/set?k=b&v=2", tokenOf(do("/set?k=a&v=1", "")))
			}
			for what, line := range lines {
				ck, err := http.ParseSetCookie(line)
				if err != nil {
					t.Fatalf("%s: Set-Cookie %q does not parse: %v", what, line, err)
				}
				if ck.Partitioned != tc.partitioned {
					t.Errorf("%s: Set-Cookie %q: Partitioned = %v, want %v", what, line, ck.Partitioned, tc.partitioned)
				}
				if ck.SameSite != tc.sameSite {
					t.Errorf("%s: Set-Cookie %q: SameSite = %v, want %v", what, line, ck.SameSite, tc.sameSite)
				}
				if tc.partitioned && !ck.Secure {
					t.Errorf("%s: Set-Cookie %q is Partitioned without Secure", what, line)
				}
				if err := ck.Valid(); err != nil {
					t.Errorf("%s: Set-Cookie %q is not a valid cookie: %v", what, line, err)
				}
			}
		})
	}
}

// Browsers drop a Partitioned cookie that is not Secure, so the middleware
// refuses to be built with one.
func TestPartitionedRequiresSecure(t *testing.T) {
	st := newMemoryStore(t)
	for _, tc := range []struct {
		name string
		opts []sessions.Option
		want string
	}{
		{"alone", []sessions.Option{sessions.WithPartitioned(true)}, "sessions: Partitioned cookies must be Secure: add sessions.WithSecure(true)"},
		{"Secure turned off", []sessions.Option{sessions.WithSecure(true), sessions.WithPartitioned(true), sessions.WithSecure(false)}, "sessions: Partitioned cookies must be Secure: add sessions.WithSecure(true)"},
		{"with SameSite=None", []sessions.Option{sessions.WithPartitioned(true), sessions.WithSameSite(http.SameSiteNoneMode)}, "sessions: SameSite=None cookies must be Secure: add sessions.WithSecure(true)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); msg != tc.want {
					t.Fatalf("panic %q, want %q", msg, tc.want)
				}
			}()
			sessions.Middleware(st, tc.opts...)
		})
	}
}
