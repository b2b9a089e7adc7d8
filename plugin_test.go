package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ginsessions/sessions"
)

func TestWiring(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, func(r *gin.Engine) {
		r.GET("/default", func(c *gin.Context) {
			sessions.Default(c).Set("via", "default")
			c.String(http.StatusOK, "ok")
		})
		r.GET("/mustget", func(c *gin.Context) {
			s := c.MustGet(sessions.ContextKey).(*sessions.Session)
			c.String(http.StatusOK, "%v", s.Get("via"))
		})
		r.GET("/wrapped", gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := sessions.FromContext(r.Context())
			if !ok {
				http.Error(w, "no session", http.StatusInternalServerError)
				return
			}
			s.Set("via", "net/http")
			fmt.Fprint(w, "ok")
		})))
		r.GET("/ginctx", func(c *gin.Context) {
			s, ok := sessions.FromContext(c)
			c.String(http.StatusOK, "%v %v", ok, s == sessions.Default(c))
		})
	})
	cl := newClient(t, r)
	cl.get("/default")
	if got := cl.get("/mustget").Body.String(); got != "default" {
		t.Fatalf("MustGet saw %q", got)
	}
	if rec := cl.get("/wrapped"); rec.Code != http.StatusOK {
		t.Fatalf("wrapped handler: %d %s", rec.Code, rec.Body)
	}
	if got := cl.get("/mustget").Body.String(); got != "net/http" {
		t.Fatalf("the net/http handler's change was not saved: %q", got)
	}
	if got := cl.get("/ginctx").Body.String(); got != "true true" {
		t.Fatalf("FromContext(gin.Context) = %q", got)
	}
	if _, ok := sessions.FromContext(context.Background()); ok {
		t.Fatal("FromContext found a session in a bare context")
	}
}

func TestDefaultPanicsWithoutMiddleware(t *testing.T) {
	r := gin.New()
	var msg any
	r.GET("/", func(c *gin.Context) {
		defer func() { msg = recover() }()
		sessions.Default(c)
	})
	newClient(t, r).get("/")
	if s, _ := msg.(string); !strings.Contains(s, "sessions.Middleware") {
		t.Fatalf("panic = %v, want a message naming sessions.Middleware", msg)
	}
}

func TestUntouchedRequestCostsNothing(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	r := newEngine(st, nil, kvRoutes)
	cl := newClient(t, r)
	for _, path := range []string{"/none", "/none"} {
		rec := cl.get(path)
		if sc := setCookies(rec); len(sc) != 0 {
			t.Fatalf("%s set cookies %q", path, sc)
		}
		if v := rec.Header().Get("Vary"); v != "" {
			t.Fatalf("%s: Vary = %q for a request that never touched the session", path, v)
		}
	}
	cl.get("/set?k=a&v=1")
	loads, saves, _, _ := st.calls()
	// With a session cookie too, an untouched request costs no store call.
	cl.get("/none")
	if l, s, d, tc := st.calls(); l != loads || s != saves || d != 0 || tc != 0 {
		t.Fatalf("untouched request with a cookie made store calls: %d %d %d %d", l-loads, s-saves, d, tc)
	}
}

func TestReaderGetsNoCookie(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	cl := newClient(t, newEngine(st, nil, kvRoutes))
	rec := cl.get("/get?k=greeting")
	if rec.Body.String() != "<none>" {
		t.Fatalf("body %q", rec.Body)
	}
	if sc := setCookies(rec); len(sc) != 0 {
		t.Fatalf("a reader got cookies %q", sc)
	}
	if rec.Header().Get("Vary") != "Cookie" {
		t.Fatalf("Vary = %q, want Cookie", rec.Header().Get("Vary"))
	}
	if _, saves, _, _ := st.calls(); saves != 0 {
		t.Fatalf("a reader caused %d saves", saves)
	}
}

var cookieRE = regexp.MustCompile(`^sessionid=([A-Za-z0-9_-]{43}); Path=/; HttpOnly; SameSite=Lax$`)

func TestFirstWriteCreatesSession(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	cl := newClient(t, newEngine(st, nil, kvRoutes))
	rec := cl.get("/set?k=greeting&v=hello")
	sc := cookieHeader(t, rec)
	m := cookieRE.FindStringSubmatch(sc)
	if m == nil {
		t.Fatalf("Set-Cookie = %q, want %s", sc, cookieRE)
	}
	token := m[1]
	rec2, found, err := st.Store.Load(context.Background(), sessions.StoreID(token))
	if err != nil || !found {
		t.Fatalf("record not stored under the token's digest: %v %v", found, err)
	}
	if rec2.Values["greeting"] != `"hello"` {
		t.Fatalf("stored values %v", rec2.Values)
	}
	if _, found, _ := st.Store.Load(context.Background(), token); found {
		t.Fatal("record stored under the raw token")
	}
	for _, id := range st.ids {
		if id == token {
			t.Fatal("the store was handed the raw token")
		}
	}
	if u, err := uuid.Parse(rec2.UUID); err != nil || u.Version() != 4 {
		t.Fatalf("UUID %q is not a v4 UUID: %v", rec2.UUID, err)
	}
	if got := cl.get("/get?k=greeting").Body.String(); got != "hello" {
		t.Fatalf("second request read %q", got)
	}
}

func TestIDAndUUID(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/ids", func(c *gin.Context) {
			s := sessions.Default(c)
			c.String(http.StatusOK, "%s|%s", s.ID(), s.UUID())
		})
		r.GET("/login", func(c *gin.Context) {
			s := sessions.Default(c)
			s.CycleKey()
			s.Set("user", "ann")
			c.String(http.StatusOK, "ok")
		})
		r.GET("/logout", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Flush()
			s.Set("bye", true)
			c.String(http.StatusOK, "ok")
		})
	})
	cl := newClient(t, r)
	if got := cl.get("/ids").Body.String(); got != "|" {
		t.Fatalf("before the first save ID|UUID = %q", got)
	}
	cl.get("/set?k=a&v=1")
	id1, uuid1, _ := strings.Cut(cl.get("/ids").Body.String(), "|")
	if id1 != cl.cookie("sessionid") || uuid1 == "" || uuid1 == id1 {
		t.Fatalf("ID %q UUID %q cookie %q", id1, uuid1, cl.cookie("sessionid"))
	}
	cl.get("/login")
	id2, uuid2, _ := strings.Cut(cl.get("/ids").Body.String(), "|")
	if id2 == id1 || uuid2 != uuid1 {
		t.Fatalf("CycleKey: ID %q→%q (want new), UUID %q→%q (want kept)", id1, id2, uuid1, uuid2)
	}
	cl.get("/logout")
	id3, uuid3, _ := strings.Cut(cl.get("/ids").Body.String(), "|")
	if id3 == id2 || uuid3 == uuid2 || uuid3 == "" {
		t.Fatalf("Flush: ID %q→%q, UUID %q→%q, want both new", id2, id3, uuid2, uuid3)
	}
}

// answers lists the ways a handler can answer; each must carry the cookie.
var answers = []struct {
	name   string
	method string
	answer func(c *gin.Context)
	status int
}{
	{"String", "GET", func(c *gin.Context) { c.String(http.StatusOK, "ok") }, 200},
	{"JSON", "GET", func(c *gin.Context) { c.JSON(http.StatusCreated, gin.H{"ok": true}) }, 201},
	{"HTML", "GET", func(c *gin.Context) { c.HTML(http.StatusOK, "page", gin.H{"n": 1}) }, 200},
	{"RedirectGET", "GET", func(c *gin.Context) { c.Redirect(http.StatusFound, "/next") }, 302},
	{"RedirectPOST", "POST", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/next") }, 303},
	{"StatusNoBody", "GET", func(c *gin.Context) { c.Status(http.StatusNoContent) }, 204},
	{"File", "GET", func(c *gin.Context) { c.File(c.GetString("file")) }, 200},
	{"StreamFlush", "GET", func(c *gin.Context) {
		c.Writer.Flush()
		fmt.Fprint(c.Writer, "chunk")
		c.Writer.Flush()
	}, 200},
	{"Abort", "GET", func(c *gin.Context) { c.AbortWithStatus(http.StatusUnauthorized) }, 401},
	{"AbortJSON", "GET", func(c *gin.Context) { c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"no": 1}) }, 403},
	{"WritesNothing", "GET", func(c *gin.Context) {}, 200},
	{"RawWriter", "GET", func(c *gin.Context) { _, _ = c.Writer.Write([]byte("raw")) }, 200},
	{"WriteHeaderNow", "GET", func(c *gin.Context) { c.Writer.WriteHeader(202); c.Writer.WriteHeaderNow() }, 202},
}

// answerEngine mounts every answer at /answer/NAME after a write to the
// session, plus /get from kvRoutes.
func answerEngine(t *testing.T, st sessions.Store, opts ...sessions.Option) *gin.Engine {
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("file body"), 0o600); err != nil {
		t.Fatal(err)
	}
	return newEngine(st, opts, func(r *gin.Engine) {
		r.SetHTMLTemplate(template.Must(template.New("page").Parse(`<p>{{ .n }}</p>`)))
		kvRoutes(r)
		for _, a := range answers {
			r.Handle(a.method, "/answer/"+a.name, func(c *gin.Context) {
				sessions.Default(c).Set("answered", a.name)
				c.Set("file", file)
				a.answer(c)
			})
		}
	})
}

func TestSavedWhateverTheAnswer(t *testing.T) {
	st := newMemoryStore(t)
	r := answerEngine(t, st)
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			cl := newClient(t, r)
			rec := cl.do(a.method, "/answer/"+a.name)
			if rec.Code != a.status {
				t.Fatalf("status %d, want %d", rec.Code, a.status)
			}
			if !cookieRE.MatchString(cookieHeader(t, rec)) {
				t.Fatalf("Set-Cookie %q", cookieHeader(t, rec))
			}
			if got := cl.get("/get?k=answered").Body.String(); got != a.name {
				t.Fatalf("next request read %q, want %q", got, a.name)
			}
		})
	}
}

func TestFailedSaveIsNeverASuccess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"unavailable", fmt.Errorf("dial tcp: refused: %w", sessions.ErrUnavailable), http.StatusServiceUnavailable},
		{"other", errors.New("disk on fire"), http.StatusInternalServerError},
		{"interrupted", fmt.Errorf("gone: %w", sessions.ErrInterrupted), http.StatusBadRequest},
	} {
		st := &failingStore{Store: newMemoryStore(t), saveErr: tc.err}
		r := answerEngine(t, st)
		for _, a := range answers {
			t.Run(tc.name+"/"+a.name, func(t *testing.T) {
				rec := newClient(t, r).do(a.method, "/answer/"+a.name)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d; body %q", rec.Code, tc.status, rec.Body)
				}
				if sc := setCookies(rec); len(sc) != 0 {
					t.Fatalf("failed save set cookies %q", sc)
				}
				if loc := rec.Header().Get("Location"); loc != "" {
					t.Fatalf("failed save kept the handler's Location %q", loc)
				}
				if body := rec.Body.String(); strings.Contains(body, "chunk") || strings.Contains(body, "file body") || strings.Contains(body, "raw") {
					t.Fatalf("the handler's body reached the client: %q", body)
				}
			})
		}
	}
}

func TestCustomErrorHandlerThatWritesNothing(t *testing.T) {
	var seen error
	st := &failingStore{Store: newMemoryStore(t), saveErr: fmt.Errorf("down: %w", sessions.ErrUnavailable)}
	r := newEngine(st, []sessions.Option{sessions.WithErrorHandler(func(c *gin.Context, err error) { seen = err })}, kvRoutes)
	rec := newClient(t, r).get("/set?k=a&v=1")
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() == "ok" {
		t.Fatalf("status %d body %q, want 503 without the handler's body", rec.Code, rec.Body)
	}
	if !errors.Is(seen, sessions.ErrUnavailable) {
		t.Fatalf("error handler got %v", seen)
	}
}

func TestLoadFailureAnswers503(t *testing.T) {
	mem := newMemoryStore(t)
	healthy := newClient(t, newEngine(mem, nil, kvRoutes))
	healthy.get("/set?k=a&v=1")
	down := &failingStore{Store: mem, loadErr: fmt.Errorf("timeout: %w", sessions.ErrUnavailable)}
	cl := newClient(t, newEngine(down, nil, kvRoutes))
	cl.jar = healthy.jar
	if rec := cl.get("/get?k=a"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("read with the store down: %d %q", rec.Code, rec.Body)
	}
	if rec := cl.get("/none"); rec.Code != http.StatusOK {
		t.Fatalf("untouched request with the store down: %d", rec.Code)
	}
	if got := healthy.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("data lost after a failed request: %q", got)
	}
}

func TestServerErrorSavesNothing(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	r := newEngine(st, nil, func(r *gin.Engine) {
		r.GET("/boom", func(c *gin.Context) {
			sessions.Default(c).Set("a", 1)
			c.String(http.StatusInternalServerError, "boom")
		})
		r.GET("/panic", func(c *gin.Context) {
			sessions.Default(c).Set("a", 1)
			panic("handler bug")
		})
	})
	r.Use(gin.Recovery())
	rr := gin.New()
	rr.Use(gin.CustomRecovery(func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) }))
	rr.Use(sessions.Middleware(st))
	rr.GET("/panic", func(c *gin.Context) {
		sessions.Default(c).Set("a", 1)
		panic("handler bug")
	})
	for _, tc := range []struct {
		h    http.Handler
		path string
	}{{r, "/boom"}, {rr, "/panic"}} {
		rec := newClient(t, tc.h).get(tc.path)
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("%s: status %d", tc.path, rec.Code)
		}
		if sc := setCookies(rec); len(sc) != 0 {
			t.Fatalf("%s: 5xx answer set cookies %q", tc.path, sc)
		}
	}
	if _, saves, _, _ := st.calls(); saves != 0 {
		t.Fatalf("5xx answers caused %d saves", saves)
	}
}

func TestEncodingFailureFailsTheRequest(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	r := newEngine(st, nil, func(r *gin.Engine) {
		r.GET("/chan", func(c *gin.Context) {
			sessions.Default(c).Set("bad", make(chan int))
			c.String(http.StatusOK, "ok")
		})
		r.GET("/reserved", func(c *gin.Context) {
			sessions.Default(c).Set("_session_flashes", "x")
			c.String(http.StatusOK, "ok")
		})
	})
	for _, path := range []string{"/chan", "/reserved"} {
		rec := newClient(t, r).get(path)
		if rec.Code != http.StatusInternalServerError || len(setCookies(rec)) != 0 {
			t.Fatalf("%s: status %d cookies %q, want 500 without cookie", path, rec.Code, setCookies(rec))
		}
	}
	if _, saves, _, _ := st.calls(); saves != 0 {
		t.Fatalf("unencodable values caused %d saves", saves)
	}
}

func TestChangesAfterTheHeadersWent(t *testing.T) {
	st := newMemoryStore(t)
	late := func(c *gin.Context) {
		s := sessions.Default(c)
		s.Get("a")
		c.String(http.StatusOK, "streamed")
		c.Writer.Flush()
		s.Set("late", "yes")
	}
	var errs []string
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		errs = c.Errors.Errors()
	})
	r.Use(sessions.Middleware(st))
	kvRoutes(r)
	r.GET("/late", late)

	// An existing session: the late change is saved after the chain.
	cl := newClient(t, r)
	cl.get("/set?k=a&v=1")
	cl.get("/late")
	if len(errs) != 0 {
		t.Fatalf("c.Errors = %q", errs)
	}
	if got := cl.get("/get?k=late").Body.String(); got != "yes" {
		t.Fatalf("late change to an existing session: %q", got)
	}

	// A new session cannot reach the client any more: nothing is stored
	// and the reason is recorded in c.Errors.
	before := st.Len()
	rec := newClient(t, r).get("/late")
	if len(setCookies(rec)) != 0 || st.Len() != before {
		t.Fatalf("late new session: cookies %q, records %d→%d", setCookies(rec), before, st.Len())
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "after the response headers were written") {
		t.Fatalf("c.Errors = %q", errs)
	}
}

func TestHijackCommitsFirst(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, func(r *gin.Engine) {
		r.GET("/upgrade", func(c *gin.Context) {
			sessions.Default(c).Set("ws", true)
			conn, buf, err := c.Writer.Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			_ = buf.Flush()
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/upgrade")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); body != "ok" {
		t.Fatalf("body %q", body)
	}
	res.Body.Close()
	if st.Len() != 1 {
		t.Fatalf("hijacked request saved %d sessions, want 1", st.Len())
	}
}
