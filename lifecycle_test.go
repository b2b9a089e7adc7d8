package sessions_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// oldTokenRoutes adds, next to kvRoutes, the ways a request can end badly
// after a logout or a login: /flush500, /flushpanic, /cycle500 and
// /cyclepanic.
func oldTokenRoutes(r *gin.Engine) {
	kvRoutes(r)
	for name, op := range map[string]func(*sessions.Session){
		"flush": (*sessions.Session).Flush,
		"cycle": (*sessions.Session).CycleKey,
	} {
		r.GET("/"+name+"500", func(c *gin.Context) {
			op(sessions.Default(c))
			c.String(http.StatusInternalServerError, "boom")
		})
		r.GET("/"+name+"panic", func(c *gin.Context) {
			op(sessions.Default(c))
			panic("handler bug")
		})
	}
}

func TestOldTokenDiesWhateverTheResponse(t *testing.T) {
	for _, path := range []string{"/flush500", "/flushpanic", "/cycle500", "/cyclepanic"} {
		t.Run(path, func(t *testing.T) {
			st := newMemoryStore(t)
			r := gin.New()
			r.Use(gin.CustomRecovery(func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) }))
			r.Use(sessions.Middleware(st))
			oldTokenRoutes(r)
			cl := newClient(t, r)
			cl.get("/set?k=a&v=1")
			token := cl.cookie("sessionid")
			if rec := cl.get(path); rec.Code != http.StatusInternalServerError || len(setCookies(rec)) != 0 {
				t.Fatalf("status %d, cookies %q; want 500 and none", rec.Code, setCookies(rec))
			}
			if cl.cookie("sessionid") != token {
				t.Fatal("the client's cookie changed")
			}
			if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
				t.Fatalf("the old token still loads the session: a = %q", got)
			}
			if st.Len() != 0 {
				t.Fatalf("the store holds %d records", st.Len())
			}
		})
	}
}

func TestFailedRequestSavesNothingLater(t *testing.T) {
	st := &faultStore{Store: newMemoryStore(t)}
	var errs []string
	r := gin.New()
	r.Use(errorsOf(&errs))
	r.Use(sessions.Middleware(st))
	kvRoutes(r)
	r.GET("/fail-then-flash", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("a", "before the 500")
		c.String(http.StatusInternalServerError, "boom")
		s.AddFlash("after the 500")
		if err := s.Save(); err == nil {
			t.Error("Save after a 500 answered nil")
		}
	})
	r.GET("/commit-fails-then-set", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("a", "before the failed commit")
		c.String(http.StatusOK, "ok") // the commit fails: 503
		s.Set("b", "after the failed commit")
	})
	for _, tc := range []struct {
		path       string
		saveFaults int
		status     int
	}{
		{"/fail-then-flash", 0, http.StatusInternalServerError},
		{"/commit-fails-then-set", 1, http.StatusServiceUnavailable},
	} {
		t.Run(tc.path, func(t *testing.T) {
			cl := newClient(t, r)
			cl.get("/set?k=a&v=first")
			st.saveFaults = tc.saveFaults
			if rec := cl.get(tc.path); rec.Code != tc.status || len(setCookies(rec)) != 0 {
				t.Fatalf("status %d, cookies %q; want %d and none", rec.Code, setCookies(rec), tc.status)
			}
			if !slicesContain(errs, "not saved") {
				t.Errorf("c.Errors = %q, want the unsaved late change reported", errs)
			}
			if got := cl.get("/get?k=a").Body.String(); got != "first" {
				t.Errorf("a = %q, want the value from before the failed request", got)
			}
			if got := cl.get("/get?k=b").Body.String(); got != "<none>" {
				t.Errorf("b = %q, want nothing", got)
			}
			if got := cl.get("/get?k=_session_flashes").Body.String(); got != "<none>" {
				t.Errorf("flashes = %q, want none", got)
			}
		})
	}
}

// slicesContain reports whether one of list contains sub.
func slicesContain(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestSaveAfterHeadersNeedingANewCookie(t *testing.T) {
	st := newMemoryStore(t)
	var saveErr error
	r := newEngine(st, nil, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/late-new", func(c *gin.Context) {
			c.String(http.StatusOK, "streamed")
			s := sessions.Default(c)
			s.Set("a", "late")
			saveErr = s.Save()
		})
		r.GET("/late-login", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Get("a")
			c.String(http.StatusOK, "streamed")
			s.CycleKey()
			s.Set("user", "ada")
			saveErr = s.Save()
		})
	})

	t.Run("new session", func(t *testing.T) {
		before := st.Len()
		rec := newClient(t, r).get("/late-new")
		if saveErr == nil || len(setCookies(rec)) != 0 || st.Len() != before {
			t.Fatalf("Save = %v, cookies %q, records %d→%d; want an error and no change", saveErr, setCookies(rec), before, st.Len())
		}
	})
	t.Run("CycleKey", func(t *testing.T) {
		cl := newClient(t, r)
		cl.get("/set?k=a&v=1")
		token := cl.cookie("sessionid")
		before := st.Len()
		rec := cl.get("/late-login")
		if saveErr == nil || len(setCookies(rec)) != 0 || st.Len() != before {
			t.Fatalf("Save = %v, cookies %q, records %d→%d; want an error and no change", saveErr, setCookies(rec), before, st.Len())
		}
		if cl.cookie("sessionid") != token {
			t.Fatal("the client's cookie changed")
		}
		if got := cl.get("/get?k=a").Body.String(); got != "1" {
			t.Fatalf("the visitor lost the session: a = %q", got)
		}
		if got := cl.get("/get?k=user").Body.String(); got != "<none>" {
			t.Fatalf("the late login was saved under the old token: user = %q", got)
		}
	})
}

func TestSaveThenConcurrentLogout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []sessions.Option
		existing bool
	}{
		{"new session", nil, false},
		{"persistent cookie", []sessions.Option{sessions.WithExpireAtBrowserClose(false)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemoryStore(t)
			r := newEngine(st, tc.opts, func(r *gin.Engine) {
				kvRoutes(r)
				r.GET("/save-then-logout", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Set("b", 2)
					if err := s.Save(); err != nil {
						t.Errorf("Save: %v", err)
					}
					// What a concurrent logout does to the store.
					if _, err := st.Delete(context.Background(), sessions.StoreID(s.ID())); err != nil {
						t.Error(err)
					}
					c.String(http.StatusOK, "ok")
				})
			})
			cl := newClient(t, r)
			if tc.existing {
				cl.get("/set?k=a&v=1")
			}
			rec := cl.get("/save-then-logout")
			if rec.Code != http.StatusBadRequest || len(setCookies(rec)) != 0 {
				t.Fatalf("status %d, cookies %q; want 400 and no dead token", rec.Code, setCookies(rec))
			}
			if !strings.Contains(rec.Body.String(), "deleted before the request finished") {
				t.Fatalf("body %q, want ErrInterrupted's text", rec.Body)
			}
		})
	}
}

func TestLoadFailureIsVisibleToTheHandler(t *testing.T) {
	st := &faultStore{Store: newMemoryStore(t)}
	var errs []string
	var seen error
	r := gin.New()
	r.Use(errorsOf(&errs))
	r.Use(sessions.Middleware(st))
	kvRoutes(r)
	r.GET("/own-page", func(c *gin.Context) {
		if seen = sessions.Default(c).Err(); seen != nil {
			c.String(http.StatusServiceUnavailable, "please try again")
			return
		}
		c.String(http.StatusOK, "fine")
	})
	r.GET("/own-500", func(c *gin.Context) {
		sessions.Default(c).Get("a")
		c.String(http.StatusInternalServerError, "the handler's own failure")
	})
	cl := newClient(t, r)
	cl.get("/set?k=a&v=1")

	if rec := cl.get("/own-page"); rec.Code != http.StatusOK || seen != nil {
		t.Fatalf("healthy store: %d %q, Err = %v", rec.Code, rec.Body, seen)
	}
	for _, tc := range []struct{ path, body string }{
		{"/own-page", "please try again"},
		{"/own-500", "the handler's own failure"},
		{"/get?k=a", sessions.ErrUnavailable.Error()},
	} {
		st.loadFaults = 1
		rec := cl.get(tc.path)
		if rec.Body.String() != tc.body {
			t.Errorf("%s: body %q, want %q", tc.path, rec.Body, tc.body)
		}
		if !slicesContain(errs, "injected fault") {
			t.Errorf("%s: c.Errors = %q, want the load error", tc.path, errs)
		}
	}
	if !errors.Is(seen, sessions.ErrUnavailable) {
		t.Fatalf("Err = %v, want ErrUnavailable", seen)
	}
	if got := cl.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("data lost: %q", got)
	}
}

func TestHandleContextKeepsTheSession(t *testing.T) {
	st := newMemoryStore(t)
	var r *gin.Engine
	r = newEngine(st, nil, func(e *gin.Engine) {
		kvRoutes(e)
		e.GET("/set-then-redirect", func(c *gin.Context) {
			sessions.Default(c).Set("a", "set before HandleContext")
			c.Request.URL.Path = "/landing"
			r.HandleContext(c)
		})
		e.GET("/redirect-then-set", func(c *gin.Context) {
			c.Request.URL.Path = "/set"
			r.HandleContext(c)
		})
		e.GET("/landing", func(c *gin.Context) {
			c.String(http.StatusOK, "landed with %v", sessions.Default(c).Get("a"))
		})
	})
	for _, tc := range []struct{ path, body, want string }{
		{"/set-then-redirect", "landed with set before HandleContext", "set before HandleContext"},
		{"/redirect-then-set?k=a&v=inner", "ok", "inner"},
	} {
		cl := newClient(t, r)
		rec := cl.get(tc.path)
		if rec.Body.String() != tc.body || len(setCookies(rec)) != 1 {
			t.Fatalf("%s: body %q, cookies %q; want %q and one cookie", tc.path, rec.Body, setCookies(rec), tc.body)
		}
		if got := cl.get("/get?k=a").Body.String(); got != tc.want {
			t.Fatalf("%s: a = %q, want %q", tc.path, got, tc.want)
		}
	}
	if st.Len() != 2 {
		t.Fatalf("the store holds %d sessions, want 2", st.Len())
	}
}

func TestUpgradeHeaderCarriesTheCookie(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, []sessions.Option{sessions.WithHeader("X-Session")}, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/upgrade", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("a", "upgraded")
			h, err := sessions.UpgradeHeader(c)
			if err != nil {
				t.Errorf("UpgradeHeader: %v", err)
				return
			}
			conn, buf, err := c.Writer.Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			// A protocol switch, written by hand as WebSocket libraries do,
			// with only the headers the helper returned.
			fmt.Fprint(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: example\r\nConnection: Upgrade\r\n")
			_ = h.Write(buf)
			fmt.Fprint(buf, "\r\n")
			_ = buf.Flush()
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /upgrade HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: example\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies()
	if res.StatusCode != http.StatusSwitchingProtocols || len(cookies) != 1 || res.Header.Get("X-Session") != cookies[0].Value || res.Header.Get("Vary") == "" {
		t.Fatalf("101 response: %d %v; want the cookie, the token header and Vary", res.StatusCode, res.Header)
	}
	cl := newClient(t, r)
	cl.jar.SetCookies(siteURL, cookies)
	if got := cl.get("/get?k=a").Body.String(); got != "upgraded" {
		t.Fatalf("a = %q", got)
	}
}

func TestVaryBelongsToEachResponse(t *testing.T) {
	r := newEngine(newMemoryStore(t), nil, func(r *gin.Engine) {
		r.GET("/edit-vary", func(c *gin.Context) {
			sessions.Default(c).Get("a")
			c.String(http.StatusOK, "ok")
			c.Writer.Header()["Vary"][0] = "Accept-Language" // in place, after the commit
		})
	})
	cl := newClient(t, r)
	for i := range 3 {
		// Result has the headers as they were sent.
		if got := cl.get("/edit-vary").Result().Header.Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
			t.Fatalf("response %d: Vary %q, want [Cookie]", i, got)
		}
	}
}

// TestCommitRunsOnceAcrossWritersAndTime checks that a session committed
// early keeps its cookie when more writes follow, so the transitions above
// are not artefacts of one way of answering.
func TestCommitRunsOnceAcrossWritersAndTime(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	r := newEngine(st, []sessions.Option{sessions.WithIdleTimeout(time.Hour)}, func(r *gin.Engine) {
		r.GET("/stream", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("a", 1)
			c.Writer.WriteHeaderNow()
			c.Writer.Flush()
			c.String(http.StatusOK, "one")
			c.String(http.StatusOK, "two")
		})
	})
	rec := newClient(t, r).get("/stream")
	if len(setCookies(rec)) != 1 || rec.Body.String() != "onetwo" {
		t.Fatalf("cookies %q body %q", setCookies(rec), rec.Body)
	}
	if _, saves, _, touches := st.calls(); saves != 1 || touches != 0 {
		t.Fatalf("saves %d touches %d, want 1 and 0", saves, touches)
	}
}

func TestSessionErrorRecordedOnce(t *testing.T) {
	st := &faultStore{Store: newMemoryStore(t), saveFaults: 2}
	var errs []string
	r := gin.New()
	r.Use(errorsOf(&errs))
	r.Use(sessions.Middleware(st))
	r.GET("/handled", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("a", 1)
		if err := s.Save(); err != nil {
			_ = c.Error(err) // the handler reports it itself
			c.String(http.StatusServiceUnavailable, "later")
		}
	})
	r.GET("/unhandled", func(c *gin.Context) {
		sessions.Default(c).Set("a", 1)
		c.String(http.StatusOK, "ok")
	})
	for _, path := range []string{"/handled", "/unhandled"} {
		rec := newClient(t, r).get(path)
		if rec.Code != http.StatusServiceUnavailable || len(errs) != 1 {
			t.Errorf("%s: status %d, c.Errors %q; want 503 and the error once", path, rec.Code, errs)
		}
	}
}
