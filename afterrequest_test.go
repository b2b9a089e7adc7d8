package sessions_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// laterResult is what a goroutine that outlived its request saw.
type laterResult struct {
	got     string // what it read, if it read
	errAt   string // Err after its change: "" for nil
	saveErr string // Save's error: "" for nil, "-" when it did not call Save
}

// laterCase is one way a goroutine uses the session after its request.
type laterCase struct {
	name    string
	cookie  bool // the client holds a session cookie before the request
	status  int  // the handler's answer
	capture func(c *gin.Context) func() *sessions.Session
	use     func(s *sessions.Session) laterResult
	// After the goroutine ran: what the next request reads of check
	// (default "late"), and whether a Warn record was logged.
	check    string
	wantLate string
	wantWarn bool
	want     laterResult
}

// take captures the session in the handler, as a goroutine's closure does.
func take(c *gin.Context) func() *sessions.Session {
	s := sessions.Default(c)
	return func() *sessions.Session { return s }
}

// takeCopy captures c.Copy() in the handler; the goroutine calls Default on it.
func takeCopy(c *gin.Context) func() *sessions.Session {
	cp := c.Copy()
	return func() *sessions.Session { return sessions.Default(cp) }
}

// setLate changes the session and reports Err.
func setLate(s *sessions.Session) laterResult {
	s.Set("late", "saved")
	return laterResult{errAt: errText(s.Err()), saveErr: "-"}
}

// setLateAndSave changes the session, then calls Save.
func setLateAndSave(s *sessions.Session) laterResult {
	s.Set("late", "saved")
	err := s.Save()
	return laterResult{errAt: errText(s.Err()), saveErr: errText(err)}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var laterCases = []laterCase{
	{
		name: "Set without Save, the client holds the cookie", cookie: true, status: http.StatusOK,
		capture: take, use: setLate,
		wantLate: "saved", want: laterResult{saveErr: "-"},
	},
	{
		name: "Set and Save, the client holds the cookie", cookie: true, status: http.StatusOK,
		capture: take, use: setLateAndSave,
		wantLate: "saved",
	},
	{
		name: "Default on c.Copy(), Set without Save", cookie: true, status: http.StatusOK,
		capture: takeCopy, use: setLate,
		wantLate: "saved", want: laterResult{saveErr: "-"},
	},
	{
		name: "first use after the request reads the visitor's session", cookie: true, status: http.StatusOK,
		capture: take,
		use: func(s *sessions.Session) laterResult {
			got := s.GetString("a")
			s.Set("late", "saved")
			return laterResult{got: got, errAt: errText(s.Err()), saveErr: "-"}
		},
		wantLate: "saved", want: laterResult{got: "1", saveErr: "-"},
	},
	{
		name: "a new visitor: no cookie can carry the change", status: http.StatusOK,
		capture: take, use: setLateAndSave,
		wantLate: "<none>", wantWarn: true,
		want: laterResult{errAt: "needs a new cookie", saveErr: "needs a new cookie"},
	},
	{
		name: "the request failed (5xx)", cookie: true, status: http.StatusInternalServerError,
		capture: func(c *gin.Context) func() *sessions.Session {
			s := sessions.Default(c)
			s.Set("during", "x") // the session took part in the failed request
			return func() *sessions.Session { return s }
		},
		use: setLateAndSave, wantLate: "<none>", wantWarn: true,
		want: laterResult{saveErr: "server error"},
	},
	{
		name: "Flush after the request logs the visitor out", cookie: true, status: http.StatusOK,
		capture: take,
		use: func(s *sessions.Session) laterResult {
			s.Flush()
			return laterResult{errAt: errText(s.Err()), saveErr: "-"}
		},
		check: "a", wantLate: "<none>", want: laterResult{saveErr: "-"},
	},
}

// TestSessionAfterRequest hands the session to a goroutine that uses it
// only once the client has the response, on a real HTTP server, whose
// request context is cancelled by then: a change is saved, or it fails
// loudly (Err, Save and a Warn record); it is never dropped in silence.
func TestSessionAfterRequest(t *testing.T) {
	for _, st := range []struct {
		name string
		open func(t *testing.T) sessions.Store
	}{
		{"memory", func(t *testing.T) sessions.Store { return newMemoryStore(t) }},
		{"redis", func(t *testing.T) sessions.Store {
			_, store := testStore(t, func(t *testing.T) redis.UniversalClient {
				return closeAtEnd(t, redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}))
			})
			return store
		}},
	} {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range laterCases {
				t.Run(tc.name, func(t *testing.T) { runLater(t, st.open(t), tc) })
			}
		})
	}
}

func runLater(t *testing.T, store sessions.Store, tc laterCase) {
	logger, logs := newLogger()
	proceed := make(chan struct{})
	done := make(chan laterResult, 1)
	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithLogger(logger)))
	kvRoutes(r)
	r.GET("/later", func(c *gin.Context) {
		get := tc.capture(c)
		go func() {
			<-proceed // the client has the whole response
			done <- tc.use(get())
		}()
		c.String(tc.status, "answered")
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	fetch := func(path string) string {
		t.Helper()
		res, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	if tc.cookie {
		fetch("/set?k=a&v=1")
	}
	if got := fetch("/later"); got != "answered" {
		t.Fatalf("/later answered %q", got)
	}
	close(proceed)
	got := <-done

	if got.got != tc.want.got {
		t.Errorf("the goroutine read %q, want %q", got.got, tc.want.got)
	}
	for _, c := range []struct{ what, got, want string }{
		{"Err", got.errAt, tc.want.errAt},
		{"Save", got.saveErr, tc.want.saveErr},
	} {
		if (c.got == "") != (c.want == "") || !strings.Contains(c.got, c.want) {
			t.Errorf("%s after the change = %q, want %q", c.what, c.got, c.want)
		}
	}
	key := tc.check
	if key == "" {
		key = "late"
	}
	if late := fetch("/get?k=" + key); late != tc.wantLate {
		t.Errorf("the next request reads %s = %q, want %q", key, late, tc.wantLate)
	}
	warned := strings.Contains(logs.String(), "level=WARN")
	if warned != tc.wantWarn {
		t.Errorf("Warn record logged: %v, want %v; log: %q", warned, tc.wantWarn, logs.String())
	}
	if warned && !strings.Contains(logs.String(), "after its request had finished") {
		t.Errorf("the Warn record does not say what happened: %q", logs.String())
	}
}
