package sessions_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// concurrently sends n requests at once with the client's cookies.
func concurrently(t *testing.T, h http.Handler, cookie string, paths []string) {
	t.Helper()
	var wg sync.WaitGroup
	codes := make(chan int, len(paths))
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := newClient(t, h)
			cl.header.Set("Cookie", cookie)
			codes <- cl.get(p).Code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a concurrent request answered %d", c)
		}
	}
}

// barrier lets n goroutines wait until all of them have arrived, so that
// concurrent requests all load the session before any of them saves it.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, arrived: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.n--
	if b.n == 0 {
		close(b.arrived)
	}
	b.mu.Unlock()
	<-b.arrived
}

func TestConcurrentIncrLosesNothing(t *testing.T) {
	st := newMemoryStore(t)
	all := newBarrier(100)
	r := newEngine(st, nil, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/incr", func(c *gin.Context) {
			sessions.Default(c).Incr("n", 1)
			all.wait()
			c.String(http.StatusOK, "ok")
		})
	})
	cl := newClient(t, r)
	cl.get("/set?k=start&v=1")
	paths := make([]string, 100)
	for i := range paths {
		paths[i] = "/incr"
	}
	concurrently(t, r, "sessionid="+cl.cookie("sessionid"), paths)
	if got := cl.get("/get?k=n").Body.String(); got != "100" {
		t.Fatalf("100 concurrent Incr(+1) ended at %s", got)
	}
}

func TestConcurrentRequestsChangingDifferentKeys(t *testing.T) {
	st := newMemoryStore(t)
	all := newBarrier(50)
	r := newEngine(st, nil, func(r *gin.Engine) {
		kvRoutes(r)
		r.GET("/setall", func(c *gin.Context) {
			sessions.Default(c).Set(c.Query("k"), c.Query("v"))
			all.wait()
			c.String(http.StatusOK, "ok")
		})
	})
	cl := newClient(t, r)
	cl.get("/set?k=start&v=1")
	var paths []string
	for i := range 50 {
		paths = append(paths, fmt.Sprintf("/setall?k=k%d&v=%d", i, i))
	}
	concurrently(t, r, "sessionid="+cl.cookie("sessionid"), paths)
	for i := range 50 {
		if got := cl.get(fmt.Sprintf("/get?k=k%d", i)).Body.String(); got != fmt.Sprint(i) {
			t.Fatalf("k%d = %q: a concurrent update was lost", i, got)
		}
	}
}

func TestNoResurrectionAfterConcurrentLogout(t *testing.T) {
	for _, tc := range []struct{ name, path string }{{"Flush", "/flush"}, {"CycleKey", "/cycle"}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemoryStore(t)
			loaded, resume := make(chan struct{}), make(chan struct{})
			r := newEngine(st, nil, func(r *gin.Engine) {
				kvRoutes(r)
				r.GET("/slow", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Get("a") // loads the session
					close(loaded)
					<-resume
					s.Set("b", "late")
					c.String(http.StatusOK, "saved")
				})
			})
			cl := newClient(t, r)
			cl.get("/set?k=a&v=1")
			cookie := "sessionid=" + cl.cookie("sessionid")
			slow := make(chan *http.Response)
			go func() {
				other := newClient(t, r)
				other.header.Set("Cookie", cookie)
				slow <- other.get("/slow").Result()
			}()
			<-loaded
			cl.get(tc.path)
			close(resume)
			res := <-slow
			body := readBody(t, res)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "deleted") {
				t.Fatalf("save after a concurrent %s: %d %q, want 400 naming the deletion", tc.name, res.StatusCode, body)
			}
			if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("interrupted request set cookies %q", sc)
			}
			want := 0
			if tc.name == "CycleKey" {
				want = 1 // the session lives on under its new token only
			}
			if st.Len() != want {
				t.Fatalf("store holds %d records, want %d", st.Len(), want)
			}
		})
	}
}
