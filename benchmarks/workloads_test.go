package benchmarks

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// workload is one kind of request, made over and over on one system.
type workload struct {
	name   string
	path   string
	cookie bool // the request carries the cookie of a session made by GET /new
	// check looks at every answer; it must be cheap, as it is timed.
	check func(sys system, rec *httptest.ResponseRecorder) string
	// verify checks the end result after n requests, last being the last
	// answer, so that a system that forgets or skips its work fails.
	verify func(tb testing.TB, sys system, h http.Handler, last *httptest.ResponseRecorder, n int)
}

var greetingBytes = []byte(greeting)

// workloads lists the serial workloads.
var workloads = []workload{
	{name: "untouched", path: "/untouched", check: checkUntouched, verify: verifyBody("untouched")},
	{name: "untouched-cookie", path: "/untouched", cookie: true, check: checkUntouched, verify: verifyBody("untouched")},
	{name: "new", path: "/new", check: checkNew, verify: verifyNew},
	{name: "counter", path: "/counter", cookie: true, check: checkOK, verify: verifyCounter},
	{name: "read", path: "/read", cookie: true, check: checkRead, verify: verifyBody(greeting)},
}

func checkOK(_ system, rec *httptest.ResponseRecorder) string {
	if rec.Code != http.StatusOK {
		return "status " + strconv.Itoa(rec.Code) + ": " + rec.Body.String()
	}
	return ""
}

// checkUntouched: a request that never touches the session gets no cookie.
func checkUntouched(sys system, rec *httptest.ResponseRecorder) string {
	if rec.Header()["Set-Cookie"] != nil {
		return "Set-Cookie on a request that never touched the session"
	}
	return checkOK(sys, rec)
}

// checkNew: the first write creates a session and sets its cookie.
func checkNew(sys system, rec *httptest.ResponseRecorder) string {
	if !sys.bare && rec.Header()["Set-Cookie"] == nil {
		return "no Set-Cookie for a new session"
	}
	return checkOK(sys, rec)
}

func checkRead(sys system, rec *httptest.ResponseRecorder) string {
	if !bytes.Equal(rec.Body.Bytes(), greetingBytes) {
		return "read " + strconv.Quote(rec.Body.String()) + ", want the greeting"
	}
	return checkOK(sys, rec)
}

func verifyBody(want string) func(testing.TB, system, http.Handler, *httptest.ResponseRecorder, int) {
	return func(tb testing.TB, _ system, _ http.Handler, last *httptest.ResponseRecorder, _ int) {
		tb.Helper()
		if got := last.Body.String(); got != want {
			tb.Fatalf("last answer %q, want %q", got, want)
		}
	}
}

// verifyNew reads the last new session back through its cookie.
func verifyNew(tb testing.TB, sys system, h http.Handler, last *httptest.ResponseRecorder, _ int) {
	tb.Helper()
	if sys.bare {
		return
	}
	rec := serve(h, request("/read", cookieOf(tb, last)))
	if got := rec.Body.String(); got != greeting {
		tb.Fatalf("the last new session reads back %q, want %q", got, greeting)
	}
}

// verifyCounter: the count equals the number of requests made with the
// cookie, so every increment was stored.
func verifyCounter(tb testing.TB, _ system, _ http.Handler, last *httptest.ResponseRecorder, n int) {
	tb.Helper()
	if got, want := last.Body.String(), strconv.Itoa(n); got != want {
		tb.Fatalf("counter is %s after %s requests", got, want)
	}
}

// request builds a GET request, with a Cookie header when cookie is not "".
func request(path, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// serve answers a shallow copy of tmpl: some systems store the session in
// the request they are given, so each request must start from the template.
func serve(h http.Handler, tmpl *http.Request) *httptest.ResponseRecorder {
	r := *tmpl
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, &r)
	return rec
}

// cookieOf returns the "name=value" of the session cookie that rec sets.
func cookieOf(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	for _, line := range rec.Header()["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.MaxAge >= 0 && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	tb.Fatalf("no session cookie in %q", rec.Header()["Set-Cookie"])
	return ""
}

// newSession makes a session through GET /new and returns its cookie; the
// bare engine has none and returns "".
func newSession(tb testing.TB, sys system, h http.Handler) string {
	tb.Helper()
	rec := serve(h, request("/new", ""))
	if msg := checkNew(sys, rec); msg != "" {
		tb.Fatalf("GET /new: %s", msg)
	}
	if sys.bare {
		return ""
	}
	return cookieOf(tb, rec)
}

// prepare returns the request template of w on sys. It first makes one
// request of w on a throwaway session (but on bare Gin), so that one-time costs (dialing, a
// script's first load into Redis) are not counted against the workload.
func (w workload) prepare(tb testing.TB, sys system, h http.Handler) *http.Request {
	if !sys.bare { // whose counter is the engine's: a warm-up would count
		warm := ""
		if w.cookie {
			warm = newSession(tb, sys, h)
		}
		if msg := w.check(sys, serve(h, request(w.path, warm))); msg != "" {
			tb.Fatalf("%s %s, warm-up: %s", sys.name, w.name, msg)
		}
	}
	if !w.cookie {
		return request(w.path, "")
	}
	return request(w.path, newSession(tb, sys, h))
}

// result is what a run measured: the requests made, the Redis traffic and
// the process's CPU time.
type result struct {
	n      int
	redis  tally
	cpu    time.Duration
	hasCPU bool
}

// meter brackets a run: the Redis counters and the process's CPU time.
type meter struct {
	env    *redisEnv
	before counters
	cpu    time.Duration
	hasCPU bool
}

// startMeter reads the counters; the CPU time last, so that reading the
// Redis counters is not in it.
func startMeter(tb testing.TB, env *redisEnv) meter {
	m := meter{env: env, before: env.snapshot(tb)}
	m.cpu, m.hasCPU = processCPU()
	return m
}

// stop returns what was used since start, for n requests.
func (m meter) stop(tb testing.TB, n int) result {
	cpu, ok := processCPU()
	res := result{n: n, cpu: cpu - m.cpu, hasCPU: ok && m.hasCPU}
	res.redis = m.env.snapshot(tb).since(m.before)
	return res
}

// runSerial makes requests of w on sys while loop says so, then verifies
// the end result.
func runSerial(tb testing.TB, sys system, w workload, loop func() bool) result {
	tb.Helper()
	h, env := sys.engine(tb)
	req := w.prepare(tb, sys, h)
	m := startMeter(tb, env)
	var last *httptest.ResponseRecorder
	n := 0
	for loop() {
		last = serve(h, req)
		if msg := w.check(sys, last); msg != "" {
			tb.Fatalf("%s %s, request %d: %s", sys.name, w.name, n+1, msg)
		}
		n++
	}
	res := m.stop(tb, n)
	if n > 0 {
		w.verify(tb, sys, h, last, n)
	}
	return res
}

// runCounterParallel runs the counter on sys from workers goroutines, each
// with a session of its own (many visitors, not one), through run, which
// calls worker once per goroutine. It then checks every session's count.
func runCounterParallel(tb testing.TB, sys system, workers int, run func(worker func(next func() bool))) result {
	tb.Helper()
	h, env := sys.engine(tb)
	reqs := make([]*http.Request, workers)
	for i := range reqs {
		reqs[i] = request("/counter", newSession(tb, sys, h))
	}
	counts := make([]int, workers)
	var started atomic.Int32
	m := startMeter(tb, env)
	run(func(next func() bool) {
		i := int(started.Add(1)) - 1
		if i >= workers {
			tb.Errorf("more than %d workers", workers)
			return
		}
		for next() {
			rec := serve(h, reqs[i])
			if msg := checkOK(sys, rec); msg != "" {
				tb.Errorf("%s counter-parallel: %s", sys.name, msg)
				return
			}
			counts[i]++
		}
	})
	n := 0
	for _, c := range counts {
		n += c
	}
	res := m.stop(tb, n)
	if tb.Failed() {
		tb.FailNow()
	}
	verifyCounts(tb, sys, h, reqs, counts)
	return res
}

// verifyCounts makes one more counter request per session and checks that
// it counts one past the requests made, so no increment was lost.
func verifyCounts(tb testing.TB, sys system, h http.Handler, reqs []*http.Request, counts []int) {
	tb.Helper()
	if sys.bare {
		total := 0
		for _, c := range counts {
			total += c
		}
		verifyCounter(tb, sys, h, serve(h, reqs[0]), total+1)
		return
	}
	for i, req := range reqs {
		verifyCounter(tb, sys, h, serve(h, req), counts[i]+1)
	}
}
