package sessions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

func TestCookieLifetime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []sessions.Option
		path   string
		maxAge string // "" = no Max-Age nor Expires
	}{
		{"default ends at browser close", nil, "/set?k=a&v=1", ""},
		{"persistent takes the cookie age", []sessions.Option{sessions.WithExpireAtBrowserClose(false)}, "/set?k=a&v=1", "Max-Age=1209600"},
		{"persistent with a tutorial age", []sessions.Option{sessions.WithExpireAtBrowserClose(false), sessions.WithCookieAge(30 * time.Minute)}, "/set?k=a&v=1", "Max-Age=1800"},
		{"SetExpiry(d>0) is persistent", nil, "/expiry?d=2h", "Max-Age=7200"},
		{"SetExpiry(0) ends at browser close", []sessions.Option{sessions.WithExpireAtBrowserClose(false)}, "/expiry?d=0", ""},
		{"SetExpiry(<0) follows the settings", []sessions.Option{sessions.WithExpireAtBrowserClose(false)}, "/expiry?d=-1s", "Max-Age=1209600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clk, withClock := clockedStore(t)
			r := newEngine(st, append(tc.opts, withClock), func(r *gin.Engine) {
				kvRoutes(r)
				r.GET("/expiry", func(c *gin.Context) {
					d, _ := time.ParseDuration(c.Query("d"))
					s := sessions.Default(c)
					s.Set("a", 1)
					s.SetExpiry(d)
					c.String(http.StatusOK, "%v %v", s.ExpiresAtBrowserClose(), s.ExpiryAge())
				})
			})
			sc := cookieHeader(t, newClient(t, r).get(tc.path))
			if tc.maxAge == "" {
				if strings.Contains(sc, "Max-Age") || strings.Contains(sc, "Expires") {
					t.Fatalf("browser-close cookie has a lifetime: %q", sc)
				}
				return
			}
			if !strings.Contains(sc, tc.maxAge) {
				t.Fatalf("Set-Cookie %q, want %s", sc, tc.maxAge)
			}
			var secs int
			for _, part := range strings.Split(sc, "; ") {
				if v, ok := strings.CutPrefix(part, "Max-Age="); ok {
					for _, c := range v {
						secs = secs*10 + int(c-'0')
					}
				}
			}
			want := "Expires=" + clk.Now().Add(time.Duration(secs)*time.Second).UTC().Format(http.TimeFormat)
			if !strings.Contains(sc, want) {
				t.Fatalf("Set-Cookie %q, want %s", sc, want)
			}
		})
	}
}

func TestServerForgetsAfterCookieAge(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	cl := newClient(t, newEngine(st, []sessions.Option{withClock, sessions.WithCookieAge(30 * time.Minute)}, kvRoutes))
	cl.get("/set?k=a&v=1")
	clk.advance(29 * time.Minute)
	if got := cl.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("at 29 minutes: %q", got)
	}
	clk.advance(2 * time.Minute) // 31 minutes after the only save
	if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
		t.Fatalf("at 31 minutes the session is still served: %q", got)
	}
}

func TestExpiredNeverServedEvenIfStored(t *testing.T) {
	// The store runs on real time and still holds the record; the
	// middleware's clock says it has expired.
	st := newMemoryStore(t)
	clk := newClock()
	clk.now = time.Now()
	cl := newClient(t, newEngine(st, []sessions.Option{sessions.WithClock(clk.Now), sessions.WithCookieAge(time.Hour)}, kvRoutes))
	cl.get("/set?k=a&v=1")
	clk.advance(2 * time.Hour)
	if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
		t.Fatalf("expired session served: %q", got)
	}
}

func TestExpiryAccessors(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	start := clk.Now()
	steps(t, st, []sessions.Option{withClock, sessions.WithCookieAge(time.Hour)},
		func(t *testing.T, s *sessions.Session) {
			s.Set("a", 1)
			if s.ExpiryAge() != time.Hour || !s.ExpiresAtBrowserClose() || !s.ExpiryDate().Equal(start.Add(time.Hour)) {
				t.Errorf("defaults: age %v close %v date %v", s.ExpiryAge(), s.ExpiresAtBrowserClose(), s.ExpiryDate())
			}
			s.SetExpiry(10 * time.Minute)
			if s.ExpiryAge() != 10*time.Minute || s.ExpiresAtBrowserClose() || !s.ExpiryDate().Equal(start.Add(10*time.Minute)) {
				t.Errorf("SetExpiry(10m): age %v close %v date %v", s.ExpiryAge(), s.ExpiresAtBrowserClose(), s.ExpiryDate())
			}
		},
		func(t *testing.T, s *sessions.Session) {
			if s.ExpiryAge() != 10*time.Minute || !s.ExpiryDate().Equal(start.Add(10*time.Minute)) {
				t.Errorf("next request: age %v date %v", s.ExpiryAge(), s.ExpiryDate())
			}
			clk.advance(11 * time.Minute)
		},
		func(t *testing.T, s *sessions.Session) {
			if s.Has("a") {
				t.Error("session outlived its own expiry")
			}
			s.Set("b", 1)
			s.SetExpiry(0)
			if !s.ExpiresAtBrowserClose() || s.ExpiryAge() != time.Hour {
				t.Errorf("SetExpiry(0): close %v age %v", s.ExpiresAtBrowserClose(), s.ExpiryAge())
			}
			s.SetExpiry(-1)
			if !s.ExpiresAtBrowserClose() || s.ExpiryAge() != time.Hour {
				t.Errorf("SetExpiry(-1): close %v age %v", s.ExpiresAtBrowserClose(), s.ExpiryAge())
			}
		})
}

func TestSaveEveryRequestSlides(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	counted := &countingStore{Store: st}
	cl := newClient(t, newEngine(counted, []sessions.Option{withClock, sessions.WithCookieAge(30 * time.Minute),
		sessions.WithSaveEveryRequest(true), sessions.WithExpireAtBrowserClose(false)}, kvRoutes))

	// A visitor who never writes is never stored, even so.
	if rec := cl.get("/get?k=a"); len(setCookies(rec)) != 0 {
		t.Fatalf("never-written session got a cookie %q", setCookies(rec))
	}
	if _, saves, _, _ := counted.calls(); saves != 0 {
		t.Fatalf("never-written session saved %d times", saves)
	}
	cl.get("/set?k=a&v=1")
	for range 3 {
		clk.advance(20 * time.Minute)
		rec := cl.get("/none") // never touches the session, still slides it
		if !strings.Contains(cookieHeader(t, rec), "Max-Age=1800") {
			t.Fatalf("sliding request did not refresh the cookie: %q", setCookies(rec))
		}
	}
	if got := cl.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("after an hour of requests 20 minutes apart: %q", got)
	}
	clk.advance(31 * time.Minute)
	if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
		t.Fatalf("31 minutes idle: %q", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	counted := &countingStore{Store: st}
	cl := newClient(t, newEngine(counted, []sessions.Option{withClock, sessions.WithIdleTimeout(10 * time.Minute)}, kvRoutes))
	cl.get("/set?k=a&v=1")
	token := cl.cookie("sessionid")
	saved := mustRecord(t, st, token).Saved
	for range 3 {
		clk.advance(8 * time.Minute)
		_, savesBefore, _, touchesBefore := counted.calls()
		if got := cl.get("/get?k=a").Body.String(); got != "1" {
			t.Fatalf("read within the idle timeout: %q", got)
		}
		_, saves, _, touches := counted.calls()
		if saves != savesBefore || touches != touchesBefore+1 {
			t.Fatalf("a read cost %d saves and %d touches, want 0 and 1", saves-savesBefore, touches-touchesBefore)
		}
	}
	rec := mustRecord(t, st, token)
	if !rec.Saved.Equal(saved) || !rec.Expires.Equal(clk.Now().Add(10*time.Minute)) {
		t.Fatalf("touch rewrote the record (saved %v→%v) or did not move its expiry (%v)", saved, rec.Saved, rec.Expires)
	}
	_, _, _, touches := counted.calls()
	clk.advance(5 * time.Minute)
	cl.get("/none")
	if _, _, _, after := counted.calls(); after != touches {
		t.Fatal("an untouched request refreshed the idle timeout")
	}
	clk.advance(6 * time.Minute) // 11 minutes since the last read
	if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
		t.Fatalf("idle session served: %q", got)
	}
}

// TestShortenedIdleTimeout restarts the site with a shorter idle timeout:
// the sessions already stored obey it at once, counted from when each was
// last seen (saved or touched), not from its last save.
func TestShortenedIdleTimeout(t *testing.T) {
	type step struct {
		after time.Duration // since the previous step
		short bool          // served by the restarted site
		want  string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"saved, then idle longer than the new timeout", []step{{11 * time.Minute, true, "<none>"}}},
		{"seen recently, saved long ago", []step{
			{30 * time.Minute, false, "1"}, {8 * time.Minute, true, "1"}, {9 * time.Minute, true, "1"}, {11 * time.Minute, true, "<none>"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clk, withClock := clockedStore(t)
			long := newEngine(st, []sessions.Option{withClock, sessions.WithIdleTimeout(time.Hour)}, kvRoutes)
			short := newEngine(st, []sessions.Option{withClock, sessions.WithIdleTimeout(10 * time.Minute)}, kvRoutes)
			cl := newClient(t, long)
			cl.get("/set?k=a&v=1")
			for i, step := range tc.steps {
				clk.advance(step.after)
				cl.h = long
				if step.short {
					cl.h = short
				}
				if got := cl.get("/get?k=a").Body.String(); got != step.want {
					t.Fatalf("step %d (%v later, short timeout %v): %q, want %q", i, step.after, step.short, got, step.want)
				}
			}
		})
	}
}

func TestAbsoluteTimeout(t *testing.T) {
	st, clk, withClock := clockedStore(t)
	r := newEngine(st, []sessions.Option{withClock, sessions.WithAbsoluteTimeout(time.Hour), sessions.WithSaveEveryRequest(true)}, kvRoutes)
	cl := newClient(t, r)
	cl.get("/set?k=a&v=1")
	for range 5 {
		clk.advance(10 * time.Minute)
		cl.get("/cycle")
		cl.get("/set?k=a&v=1")
	}
	clk.advance(9 * time.Minute)
	if got := cl.get("/get?k=a").Body.String(); got != "1" {
		t.Fatalf("at 59 minutes: %q", got)
	}
	clk.advance(2 * time.Minute)
	if got := cl.get("/get?k=a").Body.String(); got != "<none>" {
		t.Fatalf("an hour after creation, despite activity and CycleKey: %q", got)
	}
}

// mustRecord loads the record of a token straight from the store.
func mustRecord(t *testing.T, st sessions.Store, token string) sessions.Record {
	t.Helper()
	rec, found, err := st.Load(context.Background(), sessions.StoreID(token))
	if err != nil || !found {
		t.Fatalf("record of %.6s… not in the store: %v %v", token, found, err)
	}
	return rec
}
