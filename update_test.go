package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// cartRoutes are a shop's: /append adds an item to the cart with Update,
// /flash adds a flash, /cart and /flashes show them, /seed starts a
// session.
func cartRoutes(r *gin.Engine) {
	r.GET("/seed", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("seeded", true)
		if user := c.Query("login"); user != "" {
			s.Login(user)
		}
		c.String(http.StatusOK, "ok")
	})
	r.GET("/append", func(c *gin.Context) {
		item := c.Query("item")
		cart, err := sessions.Update(sessions.Default(c), "cart", func(old []string, _ bool) ([]string, error) {
			return append(old, item), nil
		})
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, "%d items", len(cart))
	})
	r.GET("/cart", func(c *gin.Context) {
		cart, _ := sessions.Value[[]string](sessions.Default(c), "cart")
		c.JSON(http.StatusOK, cart)
	})
	r.GET("/flash", func(c *gin.Context) {
		sessions.Default(c).AddFlash(c.Query("msg"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/flashes", func(c *gin.Context) {
		c.JSON(http.StatusOK, sessions.Default(c).Flashes())
	})
}

// held runs a request that loads the session, does its work, and then
// waits until released before it answers, so that another request can
// change the session in between; done receives its status and body.
type held struct {
	loaded, release chan struct{}
	done            chan string
}

// holdRoute adds GET path: work, then wait for the test's release.
func holdRoute(r *gin.Engine, path string, h *held, work func(c *gin.Context, s *sessions.Session) string) {
	r.GET(path, func(c *gin.Context) {
		s := sessions.Default(c)
		out := work(c, s)
		close(h.loaded)
		<-h.release
		c.String(http.StatusOK, out)
	})
}

func newHeld() *held {
	return &held{loaded: make(chan struct{}), release: make(chan struct{}), done: make(chan string, 1)}
}

// start sends the held request with cookie and waits until it has done
// its work.
func (h *held) start(t *testing.T, r http.Handler, path, cookie string) {
	go func() {
		cl := newClient(t, r)
		cl.header.Set("Cookie", cookie)
		rec := cl.get(path)
		h.done <- strconv.Itoa(rec.Code) + " " + rec.Body.String()
	}()
	<-h.loaded
}

// finish releases the held request and returns its status and body.
func (h *held) finish() string {
	close(h.release)
	return <-h.done
}

// TestUpdateRetriesOnConflict: request A updates the cart and, before it
// answers, request B updates it too. A's save finds the cart changed,
// reads it again, runs its function on B's cart and saves: both items
// stay, and A paid one more Load and one more Save.
func TestUpdateRetriesOnConflict(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	h := newHeld()
	r := newEngine(st, nil, func(r *gin.Engine) {
		cartRoutes(r)
		holdRoute(r, "/slow-append", h, func(_ *gin.Context, s *sessions.Session) string {
			cart, _ := sessions.Update(s, "cart", func(old []string, _ bool) ([]string, error) {
				return append(old, "a"), nil
			})
			return strings.Join(cart, ",")
		})
	})
	cl := newClient(t, r)
	cl.get("/seed")
	cookie := "sessionid=" + cl.cookie("sessionid")
	h.start(t, r, "/slow-append", cookie)
	if rec := cl.get("/append?item=b"); rec.Code != http.StatusOK {
		t.Fatalf("request B: %d", rec.Code)
	}
	loads, saves, _, _ := st.calls()
	if got := h.finish(); got != "200 a" {
		t.Fatalf("request A answered %q, want 200 and the cart it computed first", got)
	}
	loads2, saves2, _, _ := st.calls()
	if loads2-loads != 1 || saves2-saves != 2 {
		t.Fatalf("request A's commit: %d loads and %d saves, want 1 and 2", loads2-loads, saves2-saves)
	}
	if got := cl.get("/cart").Body.String(); got != `["b","a"]` {
		t.Fatalf("cart %s, want B's item then A's", got)
	}
}

// changeLog is a real store that records the changes it saves.
type changeLog struct {
	sessions.Store
	mu      sync.Mutex
	changes []sessions.Change
}

func (s *changeLog) Save(ctx context.Context, id string, ch sessions.Change) error {
	s.mu.Lock()
	s.changes = append(s.changes, ch)
	s.mu.Unlock()
	return s.Store.Save(ctx, id, ch)
}

func (s *changeLog) last() sessions.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes[len(s.changes)-1]
}

// TestUpdateSemantics checks what one request's Update does, alone, and
// what its save expects.
func TestUpdateSemantics(t *testing.T) {
	appendX := func(old []string, _ bool) ([]string, error) { return append(old, "x"), nil }
	tests := []struct {
		name   string
		handle func(s *sessions.Session) string
		body   string            // the handler's answer
		cart   string            // the stored cart afterwards
		expect map[string]string // the save's Change.Expect; nil: no save
		status int
	}{
		{"appends and expects the stored value", func(s *sessions.Session) string {
			v, err := sessions.Update(s, "cart", appendX)
			return fmt.Sprint(v, err)
		}, "[a x] <nil>", `["a","x"]`, map[string]string{"cart": `["a"]`}, 200},
		{"an absent key is expected absent", func(s *sessions.Session) string {
			v, err := sessions.Update(s, "list", func(old []string, ok bool) ([]string, error) {
				return append(old, strconv.FormatBool(ok)), nil
			})
			return fmt.Sprint(v, err)
		}, "[false] <nil>", `["a"]`, map[string]string{"list": ""}, 200},
		{"fn's error changes nothing and is returned as is", func(s *sessions.Session) string {
			_, err := sessions.Update(s, "cart", func(old []string, _ bool) ([]string, error) {
				return nil, errors.New("out of stock")
			})
			return fmt.Sprint(err, s.Modified())
		}, "out of stock false", `["a"]`, nil, 200},
		{"a stored value of another type changes nothing", func(s *sessions.Session) string {
			_, err := sessions.Update(s, "cart", func(old int, _ bool) (int, error) { return old + 1, nil })
			return fmt.Sprint(err != nil, s.Modified())
		}, "true false", `["a"]`, nil, 200},
		{"after a Set fn builds on it and the save expects nothing", func(s *sessions.Session) string {
			s.Set("cart", []string{"mine"})
			v, _ := sessions.Update(s, "cart", appendX)
			return fmt.Sprint(v)
		}, "[mine x]", `["mine","x"]`, map[string]string{}, 200},
		{"a Set after Update drops the condition", func(s *sessions.Session) string {
			_, _ = sessions.Update(s, "cart", appendX)
			s.Set("cart", []string{"final"})
			return ""
		}, "", `["final"]`, map[string]string{}, 200},
		{"two updates of a key expect the stored value once", func(s *sessions.Session) string {
			_, _ = sessions.Update(s, "cart", appendX)
			v, _ := sessions.Update(s, "cart", appendX)
			return fmt.Sprint(v)
		}, "[a x x]", `["a","x","x"]`, map[string]string{"cart": `["a"]`}, 200},
		{"a reserved key fails the request", func(s *sessions.Session) string {
			_, err := sessions.Update(s, "_session_x", appendX)
			return fmt.Sprint(err != nil)
		}, "", `["a"]`, nil, 500},
		{"a value that cannot be encoded fails the request", func(s *sessions.Session) string {
			_, err := sessions.Update(s, "cart", func(old any, _ bool) (any, error) { return func() {}, nil })
			return fmt.Sprint(err != nil)
		}, "", `["a"]`, nil, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &changeLog{Store: newMemoryStore(t)}
			r := newEngine(st, nil, func(r *gin.Engine) {
				cartRoutes(r)
				r.GET("/do", func(c *gin.Context) { c.String(http.StatusOK, tt.handle(sessions.Default(c))) })
			})
			cl := newClient(t, r)
			cl.get("/append?item=a")
			saves := len(st.changes)
			rec := cl.get("/do")
			if rec.Code != tt.status || (tt.status == 200 && rec.Body.String() != tt.body) {
				t.Fatalf("GET /do: %d %q, want %d %q", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if got := cl.get("/cart").Body.String(); got != tt.cart {
				t.Fatalf("cart %s, want %s", got, tt.cart)
			}
			switch {
			case tt.expect == nil && len(st.changes) != saves:
				t.Fatalf("saved %+v, want no save", st.last())
			case tt.expect != nil && len(st.changes) != saves+1:
				t.Fatalf("%d saves, want 1", len(st.changes)-saves)
			case tt.expect != nil && !maps.Equal(st.last().Expect, tt.expect):
				t.Fatalf("Expect = %q, want %q", st.last().Expect, tt.expect)
			}
		})
	}
}

// TestUpdateReplaysIncrAndFlashes: a conflict replays, on the newer value,
// everything the request did to the key: an Incr before and after Update,
// and AddFlash after Flashes.
func TestUpdateReplaysIncrAndFlashes(t *testing.T) {
	st := newMemoryStore(t)
	h := newHeld()
	r := newEngine(st, nil, func(r *gin.Engine) {
		kvRoutes(r)
		cartRoutes(r)
		r.GET("/setn", func(c *gin.Context) {
			n, _ := strconv.Atoi(c.Query("v"))
			sessions.Default(c).Set("n", n)
		})
		holdRoute(r, "/slow", h, func(_ *gin.Context, s *sessions.Session) string {
			s.Incr("n", 1)
			v, _ := sessions.Update(s, "n", func(old int, _ bool) (int, error) { return old * 10, nil })
			s.Incr("n", 2)
			taken := s.Flashes()
			s.AddFlash("mine")
			return fmt.Sprint(v, " ", taken)
		})
	})
	cl := newClient(t, r)
	cl.get("/setn?v=1")
	cl.get("/flash?msg=old")
	cookie := "sessionid=" + cl.cookie("sessionid")
	h.start(t, r, "/slow", cookie)
	cl.get("/setn?v=5")
	cl.get("/flash?msg=new")
	if got := h.finish(); got != "200 20 [old]" {
		t.Fatalf("held request answered %q", got)
	}
	if got := cl.get("/get?k=n").Body.String(); got != "62" {
		t.Fatalf("n = %s, want (5+1)*10+2", got)
	}
	if got := cl.get("/flashes").Body.String(); got != `["new","mine"]` {
		t.Fatalf("flashes %s", got)
	}
}

// TestUpdateSaveBeforeRendering: a handler that calls Save before it
// renders shows the value as saved, after any retry.
func TestUpdateSaveBeforeRendering(t *testing.T) {
	st := newMemoryStore(t)
	h := newHeld()
	r := newEngine(st, nil, func(r *gin.Engine) {
		cartRoutes(r)
		r.GET("/slow", func(c *gin.Context) {
			s := sessions.Default(c)
			_, _ = sessions.Update(s, "cart", func(old []string, _ bool) ([]string, error) { return append(old, "a"), nil })
			close(h.loaded)
			<-h.release
			if err := s.Save(); err != nil {
				c.String(http.StatusConflict, err.Error())
				return
			}
			cart, _ := sessions.Value[[]string](s, "cart")
			c.String(http.StatusOK, strings.Join(cart, ","))
		})
	})
	cl := newClient(t, r)
	cl.get("/seed")
	h.start(t, r, "/slow", "sessionid="+cl.cookie("sessionid"))
	cl.get("/append?item=b")
	if got := h.finish(); got != "200 b,a" {
		t.Fatalf("held request answered %q, want the saved cart", got)
	}
}

// TestUpdateOnRedisCostsNoMoreThanSet: without contention, a request that
// uses Update makes the round trips of one that uses Set: one HGETALL,
// one save.
func TestUpdateOnRedisCostsNoMoreThanSet(t *testing.T) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) {
			rdb, st := testStore(t, b.start(t))
			r := newEngine(st, nil, func(r *gin.Engine) {
				cartRoutes(r)
				r.GET("/set-cart", func(c *gin.Context) {
					s := sessions.Default(c)
					cart, _ := sessions.Value[[]string](s, "cart")
					s.Set("cart", append(cart, "x"))
					c.String(http.StatusOK, "ok")
				})
			})
			cl := newClient(t, r)
			cl.get("/append?item=a")
			cl.get("/append?item=warm") // the script's first run loads it
			rt := countRoundTrips(rdb)
			for _, path := range []string{"/set-cart", "/append?item=b", "/flash?msg=m", "/flashes"} {
				rt.take()
				if rec := cl.get(path); rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d", path, rec.Code)
				}
				if got := rt.take(); len(got) != 2 {
					t.Fatalf("GET %s: round trips %q, want 2 (a load and a save)", path, got)
				}
			}
		})
	}
}

var errStale = errors.New("the profile changed since it was read")

// TestUpdateVersionKey: keys that must change together are guarded by a
// version key that every writer updates, failing when it is not the
// version the handler read. When a concurrent request changes the group
// meanwhile, the retry's function fails on the newer version, and the
// request fails with an error that wraps ErrConflict and the function's
// own error: 409 by default, and nothing of it saved.
func TestUpdateVersionKey(t *testing.T) {
	st := newMemoryStore(t)
	h := newHeld()
	var errs []string
	profile := func(s *sessions.Session, name string) error {
		read := s.GetInt("version")
		s.Set("name", name)
		s.Set("email", name+"@example.com")
		_, err := sessions.Update(s, "version", func(v int, _ bool) (int, error) {
			if v != read {
				return v, errStale
			}
			return v + 1, nil
		})
		return err
	}
	r := gin.New()
	r.Use(errorsOf(&errs), sessions.Middleware(st))
	kvRoutes(r)
	r.GET("/profile", func(c *gin.Context) {
		if err := profile(sessions.Default(c), c.Query("name")); err != nil {
			c.String(http.StatusConflict, err.Error())
			return
		}
		c.String(http.StatusOK, "saved")
	})
	holdRoute(r, "/slow-profile", h, func(_ *gin.Context, s *sessions.Session) string {
		return fmt.Sprint(profile(s, "slow"))
	})
	cl := newClient(t, r)
	cl.get("/profile?name=ann")
	h.start(t, r, "/slow-profile", "sessionid="+cl.cookie("sessionid"))
	if rec := cl.get("/profile?name=bob"); rec.Code != http.StatusOK {
		t.Fatalf("concurrent request: %d %s", rec.Code, rec.Body.String())
	}
	if got := h.finish(); !strings.HasPrefix(got, "409 ") {
		t.Fatalf("held request answered %q, want 409", got)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], errStale.Error()) {
		t.Fatalf("c.Errors = %q, want the function's error", errs)
	}
	for k, want := range map[string]string{"name": "bob", "email": "bob@example.com", "version": "2"} {
		if got := cl.get("/get?k=" + k).Body.String(); got != want {
			t.Fatalf("%s = %s, want %s", k, got, want)
		}
	}
}
