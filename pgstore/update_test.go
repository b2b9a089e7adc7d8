package pgstore_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// serveHTTP starts a real HTTP server for h, closed when t ends.
func serveHTTP(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// fetch sends a GET with cookie through srv and returns the status and
// body.
func fetch(t *testing.T, srv *httptest.Server, path string, cookie *http.Cookie) (int, string) {
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := srv.Client().Do(req)
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

// concurrentGets sends every path at once with cookie and fails t unless
// each answers 200.
func concurrentGets(t *testing.T, srv *httptest.Server, cookie *http.Cookie, paths []string) {
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			if code, body := fetch(t, srv, p, cookie); code != http.StatusOK {
				t.Errorf("GET %s: %d %s", p, code, body)
			}
		})
	}
	wg.Wait()
}

// TestUpdateConcurrentAppendsLoseNone: 32 concurrent requests of one
// session append an item each to one list with Update, through gin and a
// real HTTP server; all 32 are saved.
func TestUpdateConcurrentAppendsLoseNone(t *testing.T) {
	store, _, _ := newStore(t)
	h := engine(store)
	srv := serveHTTP(t, h)
	cookie := sessionCookie(t, get(h, "/new", nil))
	const n = 32
	var paths, want []string
	for i := range n {
		paths = append(paths, "/append?item=i"+strconv.Itoa(i))
		want = append(want, "i"+strconv.Itoa(i))
	}
	concurrentGets(t, srv, cookie, paths)
	var got []string
	if err := json.Unmarshal(get(h, "/cart", cookie).Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after %d concurrent appends the cart holds %d items: %v", n, len(got), got)
	}
}

// TestAddFlashConcurrentLosesNone: 16 concurrent requests add a flash
// each; all 16 are shown, once.
func TestAddFlashConcurrentLosesNone(t *testing.T) {
	store, _, _ := newStore(t)
	h := engine(store)
	srv := serveHTTP(t, h)
	cookie := sessionCookie(t, get(h, "/new", nil))
	const n = 16
	var paths []string
	for i := range n {
		paths = append(paths, "/flash?msg=m"+strconv.Itoa(i))
	}
	concurrentGets(t, srv, cookie, paths)
	var got []string
	if err := json.Unmarshal(get(h, "/flashes", cookie).Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("after %d concurrent flashes %d are queued: %v", n, len(got), got)
	}
	if again := get(h, "/flashes", cookie).Body.String(); again != "null" {
		t.Fatalf("flashes shown twice: %s", again)
	}
}

// sabotageStore changes each expected value before a conditional save,
// so that every one conflicts, and counts the calls.
type sabotageStore struct {
	sessions.Store
	loads, saves atomic.Int64
}

func (s *sabotageStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	s.loads.Add(1)
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

// TestUpdateConflictEveryTime: when every conditional save conflicts, the
// request answers 409 after five saves and nothing of it is saved, not its
// Set nor its Incr.
func TestUpdateConflictEveryTime(t *testing.T) {
	inner, _, _ := newStore(t)
	store := &sabotageStore{Store: inner}
	h := engine(store)
	h.GET("/busy", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("greeting", "changed")
		s.Incr("visits", 1)
		_, _ = sessions.Update(s, "cart", func(old []string, _ bool) ([]string, error) { return append(old, "x"), nil })
		c.String(http.StatusOK, "handler's answer")
	})
	cookie := sessionCookie(t, get(h, "/new", nil))
	loads, saves := store.loads.Load(), store.saves.Load()
	w := get(h, "/busy", cookie)
	if w.Code != http.StatusConflict {
		t.Fatalf("GET /busy: %d %q, want 409", w.Code, w.Body.String())
	}
	if l, s := store.loads.Load()-loads, store.saves.Load()-saves; l != 5 || s != 5 {
		t.Fatalf("%d loads and %d saves, want 5 of each", l, s)
	}
	rec, found, err := inner.Load(testCtx(t), rowID(cookie))
	if err != nil || !found {
		t.Fatalf("Load: found=%v err=%v", found, err)
	}
	if want := map[string]string{"greeting": `"Hello, Gin Sessions!"`}; !maps.Equal(rec.Values, want) {
		t.Fatalf("after the conflict the row holds %v, want %v", rec.Values, want)
	}
}

// TestConditionalSaveComparesValues: jsonb respells JSON, so an
// expectation is met by other text of the same value, and Update on an
// object, which comes back respelled, saves without a conflict.
func TestConditionalSaveComparesValues(t *testing.T) {
	store, _, _ := newStore(t)
	id := created(t, store, map[string]string{"obj": `{"b":[1,2],"a":"x"}`})
	ch := change(map[string]string{"obj": `{"c":1}`}, nil)
	ch.Expect = map[string]string{"obj": `{ "a" : "x", "b" : [1, 2.0] }`}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatalf("Save expecting the same value spelled otherwise: %v", err)
	}
	if got := loaded(t, store, id)["obj"]; got != `{"c": 1}` {
		t.Fatalf("obj = %s", got)
	}

	counter := &queryCounter{}
	store2, _, _ := newStoreOn(t, newPool(t, needServer(t), counter))
	h := engine(store2)
	h.GET("/pref", func(c *gin.Context) {
		v, err := sessions.Update(sessions.Default(c), "prefs", func(old map[string]int, _ bool) (map[string]int, error) {
			if old == nil {
				old = map[string]int{}
			}
			old[c.Query("k")]++
			return old, nil
		})
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.JSON(http.StatusOK, v)
	})
	cookie := sessionCookie(t, get(h, "/new", nil))
	for _, k := range []string{"zeta", "alpha", "zeta"} {
		before := counter.n.Load()
		if w := get(h, "/pref?k="+k, cookie); w.Code != http.StatusOK {
			t.Fatalf("GET /pref: %d %s", w.Code, w.Body.String())
		}
		if got := counter.n.Load() - before; got != 2 {
			t.Fatalf("%d statements, want 2: a respelled value must not conflict", got)
		}
	}
	if got := get(h, "/pref?k=alpha", cookie).Body.String(); got != `{"alpha":2,"zeta":2}` {
		t.Fatalf("prefs = %s", got)
	}
}
