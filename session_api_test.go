package sessions_test

import (
	"math"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// steps runs each function in its own request of one client, in order, and
// returns the client. A step that fails the test stops the rest.
func steps(t *testing.T, st sessions.Store, opts []sessions.Option, fns ...func(t *testing.T, s *sessions.Session)) *client {
	t.Helper()
	var step int
	r := newEngine(st, opts, func(r *gin.Engine) {
		r.GET("/step", func(c *gin.Context) {
			fns[step](t, sessions.Default(c))
			c.String(http.StatusOK, "ok")
		})
	})
	cl := newClient(t, r)
	for step = range fns {
		if rec := cl.get("/step"); rec.Code != http.StatusOK {
			t.Fatalf("step %d: status %d %q", step, rec.Code, rec.Body)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	return cl
}

type point struct {
	X, Y int
	Tags []string
}

func TestGetters(t *testing.T) {
	when := time.Date(2026, 11, 26, 7, 5, 42, 123456789, time.UTC)
	steps(t, newMemoryStore(t), nil,
		func(t *testing.T, s *sessions.Session) {
			s.Set("s", "héllo <b>")
			s.Set("i", 42)
			s.Set("max", int64(math.MaxInt64))
			s.Set("min", int64(math.MinInt64))
			s.Set("f", 2.5)
			s.Set("b", true)
			s.Set("t", when)
			s.Set("p", point{1, 2, []string{"a"}})
			s.Set("m", map[string]int{"a": 1})
			s.Set("l", []int{1, 2, 3})
			s.Set("nil", nil)
		},
		func(t *testing.T, s *sessions.Session) {
			checks := []struct {
				name      string
				got, want any
			}{
				{"GetString", s.GetString("s"), "héllo <b>"},
				{"GetInt", s.GetInt("i"), 42},
				{"GetInt64 max", s.GetInt64("max"), int64(math.MaxInt64)},
				{"GetInt64 min", s.GetInt64("min"), int64(math.MinInt64)},
				{"GetFloat64", s.GetFloat64("f"), 2.5},
				{"GetFloat64 of int", s.GetFloat64("i"), 42.0},
				{"GetBool", s.GetBool("b"), true},
				{"GetTime", s.GetTime("t").Equal(when), true},
				{"Get int", s.Get("i"), 42},
				{"Get max", s.Get("max"), math.MaxInt64},
				{"Get float", s.Get("f"), 2.5},
				{"Get string", s.Get("s"), "héllo <b>"},
				{"Get list", s.Get("l"), []any{1, 2, 3}},
				{"Get map", s.Get("m"), map[string]any{"a": 1}},
				{"Get nil", s.Get("nil", "def"), nil},
				{"Get absent", s.Get("absent"), nil},
				{"Get default", s.Get("absent", 7), 7},
				{"wrong type string", s.GetString("i"), ""},
				{"wrong type int", s.GetInt("s"), 0},
				{"wrong type float", s.GetFloat64("b"), 0.0},
				{"wrong type bool", s.GetBool("i"), false},
				{"wrong type time", s.GetTime("i").IsZero(), true},
				{"int of float", s.GetInt("f"), 0},
				{"absent int", s.GetInt("absent"), 0},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
				}
			}
			if p, ok := sessions.Value[point](s, "p"); !ok || !reflect.DeepEqual(p, point{1, 2, []string{"a"}}) {
				t.Errorf("Value[point] = %+v, %v", p, ok)
			}
			if m, ok := sessions.Value[map[string]int](s, "m"); !ok || m["a"] != 1 {
				t.Errorf("Value[map] = %v, %v", m, ok)
			}
			if l, ok := sessions.Value[[]int](s, "l"); !ok || !reflect.DeepEqual(l, []int{1, 2, 3}) {
				t.Errorf("Value[[]int] = %v, %v", l, ok)
			}
			if _, ok := sessions.Value[point](s, "s"); ok {
				t.Error("Value[point] of a string reported ok")
			}
			if _, ok := sessions.Value[point](s, "absent"); ok {
				t.Error("Value of an absent key reported ok")
			}
			if s.Modified() {
				t.Error("reading modified the session")
			}
			if !s.Accessed() {
				t.Error("reading did not mark the session accessed")
			}
		})
}

func TestSetCopiesTheValue(t *testing.T) {
	steps(t, newMemoryStore(t), nil,
		func(t *testing.T, s *sessions.Session) {
			list := []string{"a", "b"}
			s.Set("list", list)
			list[0] = "changed"
			if got, _ := sessions.Value[[]string](s, "list"); got[0] != "a" {
				t.Errorf("same request: %v", got)
			}
		},
		func(t *testing.T, s *sessions.Session) {
			if got, _ := sessions.Value[[]string](s, "list"); !reflect.DeepEqual(got, []string{"a", "b"}) {
				t.Errorf("next request: %v", got)
			}
		})
}

func TestDictionaryMethods(t *testing.T) {
	steps(t, newMemoryStore(t), nil,
		func(t *testing.T, s *sessions.Session) {
			if !s.IsEmpty() || s.Len() != 0 || len(s.Keys()) != 0 {
				t.Error("new session not empty")
			}
			if got := s.SetDefault("lang", "en"); got != "en" {
				t.Errorf("SetDefault on absent = %v", got)
			}
			if got := s.SetDefault("lang", "fr"); got != "en" {
				t.Errorf("SetDefault on present = %v", got)
			}
			s.Set("b", 1)
			s.Set("a", 2)
			s.Set("c", 3)
		},
		func(t *testing.T, s *sessions.Session) {
			if got := s.Keys(); !reflect.DeepEqual(got, []string{"a", "b", "c", "lang"}) {
				t.Errorf("Keys = %v", got)
			}
			if s.Len() != 4 || s.IsEmpty() || !s.Has("a") || s.Has("zz") {
				t.Error("Len/IsEmpty/Has wrong")
			}
			if got := s.Pop("absent", "dflt"); got != "dflt" {
				t.Errorf("Pop absent = %v", got)
			}
			if got := s.Pop("absent"); got != nil {
				t.Errorf("Pop absent without default = %v", got)
			}
			s.Delete("absent")
			if s.Modified() {
				t.Error("Pop/Delete of absent keys modified the session")
			}
			if got := s.Pop("a"); got != 2 {
				t.Errorf("Pop a = %v", got)
			}
			s.Delete("b")
			if !s.Modified() || s.Has("a") || s.Has("b") {
				t.Error("Pop/Delete did not remove")
			}
		},
		func(t *testing.T, s *sessions.Session) {
			if got := s.Keys(); !reflect.DeepEqual(got, []string{"c", "lang"}) {
				t.Errorf("after Pop/Delete Keys = %v", got)
			}
			if got := s.Incr("n", 5); got != 5 {
				t.Errorf("Incr absent = %d", got)
			}
			if got := s.Incr("n", -2); got != 3 {
				t.Errorf("Incr again = %d", got)
			}
		},
		func(t *testing.T, s *sessions.Session) {
			if got := s.GetInt("n"); got != 3 {
				t.Errorf("stored n = %d", got)
			}
			s.Set("n", 10)
			if got := s.Incr("n", 1); got != 11 {
				t.Errorf("Incr after Set = %d", got)
			}
			s.Delete("c")
			if got := s.Incr("c", 1); got != 1 {
				t.Errorf("Incr after Delete = %d", got)
			}
		},
		func(t *testing.T, s *sessions.Session) {
			if s.GetInt("n") != 11 || s.GetInt("c") != 1 {
				t.Errorf("n=%d c=%d, want 11 and 1", s.GetInt("n"), s.GetInt("c"))
			}
		})
}

func TestIncrOnNonInteger(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/incr", func(c *gin.Context) {
			c.String(http.StatusOK, "%d", sessions.Default(c).Incr("k", 1))
		})
	})
	cl := newClient(t, r)
	cl.get("/set?k=k&v=text")
	if rec := cl.get("/incr"); rec.Code != http.StatusInternalServerError {
		t.Fatalf("Incr of a string: %d %q", rec.Code, rec.Body)
	}
	if got := cl.get("/get?k=k").Body.String(); got != "text" {
		t.Fatalf("value after a failed Incr: %q", got)
	}
}

func TestFlashes(t *testing.T) {
	steps(t, newMemoryStore(t), nil,
		func(t *testing.T, s *sessions.Session) {
			if got := s.Flashes(); got != nil {
				t.Errorf("Flashes on a new session = %v", got)
			}
			if s.Modified() {
				t.Error("reading no flashes modified the session")
			}
			s.AddFlash("one")
			s.AddFlash(map[string]any{"level": "info"})
		},
		func(t *testing.T, s *sessions.Session) {
			if s.Keys() == nil || len(s.Keys()) != 0 || s.IsEmpty() {
				t.Errorf("flashes show as keys (%v) or session empty (%v)", s.Keys(), s.IsEmpty())
			}
			got := s.Flashes()
			want := []any{"one", map[string]any{"level": "info"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Flashes = %#v, want %#v", got, want)
			}
			if again := s.Flashes(); again != nil {
				t.Errorf("Flashes twice = %v", again)
			}
		},
		func(t *testing.T, s *sessions.Session) {
			if got := s.Flashes(); got != nil {
				t.Errorf("flashes shown again on the next request: %v", got)
			}
		})
}

func TestTestCookie(t *testing.T) {
	steps(t, newMemoryStore(t), nil,
		func(t *testing.T, s *sessions.Session) {
			if s.TestCookieWorked() {
				t.Error("worked before it was set")
			}
			s.SetTestCookie()
		},
		func(t *testing.T, s *sessions.Session) {
			if !s.TestCookieWorked() {
				t.Error("test cookie did not come back")
			}
			s.DeleteTestCookie()
			s.Set("keep", 1)
		},
		func(t *testing.T, s *sessions.Session) {
			if s.TestCookieWorked() {
				t.Error("test cookie survived DeleteTestCookie")
			}
		})
}

func TestExplicitSave(t *testing.T) {
	st := &countingStore{Store: newMemoryStore(t)}
	steps(t, st, nil,
		func(t *testing.T, s *sessions.Session) {
			s.Set("a", 1)
			if err := s.Save(); err != nil {
				t.Fatalf("Save: %v", err)
			}
			if s.ID() == "" {
				t.Error("no ID after Save")
			}
			s.Set("b", 2) // a change after Save is saved by the commit
		},
		func(t *testing.T, s *sessions.Session) {
			if s.GetInt("a") != 1 || s.GetInt("b") != 2 {
				t.Errorf("a=%v b=%v", s.Get("a"), s.Get("b"))
			}
		})
	if _, saves, _, _ := st.calls(); saves != 2 {
		t.Fatalf("saves = %d, want 2 (Save, then the commit of the later change)", saves)
	}
}
