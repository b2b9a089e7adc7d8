package benchmarks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The HTTP load: real HTTP over loopback, many connections at once, a
// bounded number of requests and a bounded time.
const (
	loadConns    = 64
	loadRequests = 10_000
	loadTimeout  = 30 * time.Second
	// loadSessions is how many sessions the counter route spreads over: a
	// multiple of loadConns, so that each connection has sessions of its
	// own and no two requests of one session overlap.
	loadSessions = 16 * loadConns
)

// loadRoute is a route under load: its path, whether its requests carry a
// session cookie, and what every answer must show.
type loadRoute struct {
	name   string
	path   string
	cookie bool
}

var loadRoutes = []loadRoute{
	{name: "counter", path: "/counter", cookie: true},
	{name: "new", path: "/new"},
}

// loadResult is what one load run measured.
type loadResult struct {
	n       int
	elapsed time.Duration
	latency []time.Duration // sorted
	redis   tally
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	return r.latency[min(len(r.latency)-1, int(p*float64(len(r.latency))))]
}

// runLoad serves sys over real HTTP on loopback, with a redis-server of its
// own, and sends it requests of route from loadConns connections until
// requests are made or loadTimeout has passed.
func runLoad(tb testing.TB, sys system, route loadRoute, requests int) loadResult {
	tb.Helper()
	env, h := onOwnRedis(tb, sys)
	srv := httptest.NewServer(h)
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: loadConns, MaxConnsPerHost: loadConns, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	var cookies []string
	if route.cookie {
		cookies = make([]string, loadSessions)
		for i := range cookies {
			cookies[i] = newSession(tb, sys, h)
		}
	}
	workers := make([]loadWorker, loadConns)
	for w := range workers {
		workers[w] = loadWorker{sys: sys, route: route, url: srv.URL + route.path, client: client}
		for i := w; i < len(cookies); i += loadConns {
			workers[w].sessions = append(workers[w].sessions, &loadSession{cookie: cookies[i]})
		}
	}
	// Every connection and every pool is open before the clock starts.
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { workers[w].request(tb) })
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}

	var left atomic.Int64
	left.Store(int64(requests))
	deadline := time.Now().Add(loadTimeout)
	m := startMeter(tb, env)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for left.Add(-1) >= 0 && time.Now().Before(deadline) && !tb.Failed() {
				workers[w].timed(tb)
			}
		})
	}
	wg.Wait()
	res := loadResult{elapsed: time.Since(start)}
	for _, w := range workers {
		res.latency = append(res.latency, w.latency...)
	}
	res.n = len(res.latency)
	res.redis = m.stop(tb, res.n).redis
	if tb.Failed() {
		tb.FailNow()
	}
	slices.Sort(res.latency)
	return res
}

// loadWorker is one connection's requests.
type loadWorker struct {
	sys      system
	route    loadRoute
	url      string
	client   *http.Client
	sessions []*loadSession // the counter's: used in turn
	next     int
	latency  []time.Duration
}

// loadSession is a session of the counter route and the visits it made.
type loadSession struct {
	cookie string
	visits int
}

func (w *loadWorker) timed(tb testing.TB) {
	start := time.Now()
	if w.request(tb) {
		w.latency = append(w.latency, time.Since(start))
	}
}

// request makes one request and checks the answer: the counter counts each
// visit of its session, a new session gets a cookie.
func (w *loadWorker) request(tb testing.TB) bool {
	req, err := http.NewRequest(http.MethodGet, w.url, nil)
	if err != nil {
		tb.Error(err)
		return false
	}
	var s *loadSession
	if len(w.sessions) > 0 {
		s = w.sessions[w.next%len(w.sessions)]
		w.next++
		req.Header.Set("Cookie", s.cookie)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		tb.Errorf("%s %s: %v", w.sys.name, w.route.name, err)
		return false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		tb.Errorf("%s %s: reading the answer: %v", w.sys.name, w.route.name, err)
	case resp.StatusCode != http.StatusOK:
		tb.Errorf("%s %s: status %d: %s", w.sys.name, w.route.name, resp.StatusCode, body)
	case s != nil:
		s.visits++
		if got := string(body); got != strconv.Itoa(s.visits) {
			tb.Errorf("%s %s: visit %d of a session counts %q", w.sys.name, w.route.name, s.visits, got)
		}
	case resp.Header.Get("Set-Cookie") == "":
		tb.Errorf("%s %s: no Set-Cookie for a new session", w.sys.name, w.route.name)
	}
	return !tb.Failed()
}

// BenchmarkHTTPLoad serves the counter and new-session routes of each Redis
// system over real HTTP on loopback, each with a redis-server of its own,
// to loadConns connections at once, loadRequests requests a run (at most
// loadTimeout), and reports the throughput (req/s), the latency's median
// and 99th percentile (p50-µs, p99-µs), and Redis's cost per request as the
// serial benchmarks do.
func BenchmarkHTTPLoad(b *testing.B) {
	needRedis(b)
	for _, lc := range loadCases() {
		b.Run(lc.name, func(b *testing.B) {
			var res loadResult
			for b.Loop() {
				res = runLoad(b, lc.sys, lc.route, loadRequests)
			}
			b.ReportMetric(0, "ns/op") // a whole run's time says nothing
			b.ReportMetric(float64(res.n)/res.elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(res.percentile(0.50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(res.percentile(0.99).Microseconds()), "p99-µs")
			report(b, lc.sys, result{n: res.n, redis: res.redis})
		})
	}
}

// TestHTTPLoad runs the load on every Redis system with fewer requests,
// through the same checks.
func TestHTTPLoad(t *testing.T) {
	needRedis(t)
	for _, lc := range loadCases() {
		t.Run(lc.name, func(t *testing.T) {
			const n = 3 * loadConns
			if res := runLoad(t, lc.sys, lc.route, n); res.n != n {
				t.Fatalf("%d requests answered, want %d", res.n, n)
			}
		})
	}
}

// loadCase is one route on one Redis system.
type loadCase struct {
	name  string // route/system
	sys   system
	route loadRoute
}

func loadCases() []loadCase {
	var cases []loadCase
	for _, route := range loadRoutes {
		for _, sys := range redisSystems() {
			cases = append(cases, loadCase{name: route.name + "/" + sys.name, sys: sys, route: route})
		}
	}
	return cases
}
