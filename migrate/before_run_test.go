package migrate_test

import (
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ginsessions/sessions/internal/redistest"
)

// TestBeforePrograms runs the guide's "before" programs and checks that they
// behave as the guide says.
func TestBeforePrograms(t *testing.T) {
	log.SetOutput(io.Discard) // the logout program logs its session ids
	defer log.SetOutput(os.Stderr)
	type step struct {
		method, path, form string
		body               string // the response body, when not ""
		setCookie          string // a part of the response's Set-Cookie, when not ""
	}
	counter := []step{{"GET", "/incr", "", `{"count":0}`, ""}, {"GET", "/incr", "", `{"count":1}`, ""}, {"GET", "/incr", "", `{"count":2}`, ""}}
	for _, tc := range []struct {
		name    string
		program func(t *testing.T) http.Handler
		steps   []step
	}{
		{"gin-contrib memstore", func(*testing.T) http.Handler { return beforeGinContribMemstore() }, counter},
		{"gin-contrib cookie", func(*testing.T) http.Handler { return beforeGinContribCookie() },
			[]step{{"GET", "/hello", "", `{"hello":"world"}`, "; Max-Age=2592000; Secure; SameSite=None"}}},
		{"gin-contrib redis", func(t *testing.T) http.Handler { return beforeGinContribRedis(redistest.Start(t).Addr) }, counter},
		{"gin-contrib many", func(*testing.T) http.Handler { return beforeGinContribMany() },
			[]step{{"GET", "/hello", "", `{"a":"world!","b":"world?"}`, ""}}},
		{"gin-contrib types", func(*testing.T) http.Handler { return beforeGinContribTypes() },
			[]step{{"GET", "/set", "", "", "mysession="}, {"GET", "/get", "", "ada true 42 2026 [a b]", ""}}},
		{"gin-contrib logout", func(*testing.T) http.Handler { return beforeGinContribLogout() },
			[]step{{"POST", "/login", "name=ada", "", "mysession="}, {"GET", "/", "", "user ada", ""},
				{"POST", "/logout", "", "", "mysession=; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"}, {"GET", "/", "", "user <nil>", ""}}},
		{"gin-contrib options", func(*testing.T) http.Handler { return beforeGinContribOptions() },
			[]step{{"GET", "/remember", "", "", "; Max-Age=2592000; HttpOnly; SameSite=Lax"}, {"GET", "/remember?short=1", "", "", "; Max-Age=3600; HttpOnly; SameSite=Lax"}}},
		{"gin-contrib clear", func(*testing.T) http.Handler { return beforeGinContribClear() },
			[]step{{"GET", "/set", "", "", "; Max-Age=2592000"}, {"GET", "/clear", "", "", "; Max-Age=2592000"}}},
		{"scs", func(*testing.T) http.Handler { return beforeSCS() },
			[]step{{"GET", "/put", "", "", "session="}, {"GET", "/get", "", "Hello from a session!", ""}}},
		{"scs login", func(*testing.T) http.Handler { return beforeSCSLogin() },
			[]step{{"POST", "/login", "remember=on", "", "; Max-Age=1200; HttpOnly; SameSite=Lax"}, {"GET", "/", "", "user 7 Welcome back!", ""},
				{"GET", "/", "", "user 7 ", ""}, {"POST", "/logout", "", "", "session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"}, {"GET", "/", "", "user 0 ", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, b := tc.program(t), newBrowser()
			for _, st := range tc.steps {
				var form []string
				if st.form != "" {
					form = []string{st.form}
				}
				rec := b.do(h, st.method, st.path, form...)
				if st.body != "" && rec.Body.String() != st.body {
					t.Fatalf("%s %s: body %q, want %q", st.method, st.path, rec.Body.String(), st.body)
				}
				if sc := strings.Join(rec.Header().Values("Set-Cookie"), "\n"); st.setCookie != "" && !strings.Contains(sc, st.setCookie) {
					t.Fatalf("%s %s: Set-Cookie %q lacks %q", st.method, st.path, sc, st.setCookie)
				}
			}
		})
	}
}
