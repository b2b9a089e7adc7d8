package sessions_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// The client settings of the failover tests, those the docs/redis.md recommends:
// a second per network operation, the request's deadline honoured, no
// retries of a command and one dial attempt (failoverDialAttempts), so that
// a request fails as soon as its master is gone, rather than retrying for
// seconds; and failoverWithin, how long the tests browse waiting for a
// promotion before they fail.
const (
	failoverIOTimeout    = time.Second
	failoverDialAttempts = 1
	failoverWithin       = 30 * time.Second
)

// failoverRoutes adds /login?user=…, which logs in as Django's login does
// (a new token, then the user in the session), and /whoami, to the routes of
// counterRoutes.
func failoverRoutes(r *gin.Engine) {
	counterRoutes(r)
	r.GET("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.CycleKey()
		s.Set("user", c.Query("user"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/whoami", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", sessions.Default(c).Get("user", "<anonymous>"))
	})
}

// visitor is a browser with a counter in its session, and what the test
// knows of that counter.
type visitor struct {
	*client
	prefix string
	user   string // who it logged in as, if it did
	// count is the counter in the visitor's last 200 answer, and unsure
	// the number of 503 answers since: the save of each may or may not have
	// happened (Redis may apply a command whose reply never arrives).
	count, unsure int
	// failures counts the 503 answers, and lastStatus is the status of
	// the last /count.
	failures   int
	lastStatus int
}

func newVisitor(t *testing.T, h http.Handler, prefix string) *visitor {
	return &visitor{client: newClient(t, h), prefix: prefix}
}

// key returns the Redis key of the visitor's session, as docs/redis.md's key
// layout says.
func (v *visitor) key() string {
	return sessions.RedisKey(v.prefix, sessions.StoreID(v.cookie("sessionid")))
}

// login logs the visitor in as user.
func (v *visitor) login(user string) {
	v.t.Helper()
	if rec := v.get("/login?user=" + user); rec.Code != http.StatusOK {
		v.t.Fatalf("/login = %d %q", rec.Code, rec.Body)
	}
	v.user = user
}

// visit sends /count and checks the answer against what the visitor knows.
// A 200 must show a counter one more than the last 200 showed, and at most
// one more again for each 503 between them (a save that Redis applied but
// whose answer was lost); never less, which would mean that a 2xx answered a
// save that is not in Redis. A 503 is allowed only when mayFail is set; any
// other status fails t. It reports whether the answer was a 200.
func (v *visitor) visit(mayFail bool) bool {
	v.t.Helper()
	rec := v.get("/count")
	v.lastStatus = rec.Code
	switch {
	case rec.Code == http.StatusOK:
		got, err := strconv.Atoi(rec.Body.String())
		if err != nil || got < v.count+1 || got > v.count+1+v.unsure {
			v.t.Errorf("/count = %q after a 200 showing %d and %d 503s since, want %d to %d",
				rec.Body, v.count, v.unsure, v.count+1, v.count+1+v.unsure)
		}
		v.count, v.unsure = got, 0
		return true
	case rec.Code == http.StatusServiceUnavailable && mayFail:
		v.failures++
		v.unsure++
		return false
	default:
		v.t.Errorf("/count = %d %q, want 200 (or 503 while failing over: %v)", rec.Code, rec.Body, mayFail)
		return false
	}
}

// check reads the visitor's session without changing it and fails t unless
// it holds the counter of its last 200 answer and its user.
func (v *visitor) check(when string) {
	v.t.Helper()
	if rec := v.get("/get?k=count"); rec.Code != http.StatusOK || rec.Body.String() != strconv.Itoa(v.count) {
		v.t.Errorf("%s: /get?k=count = %d %q, want 200 %d", when, rec.Code, rec.Body, v.count)
	}
	want := v.user
	if want == "" {
		want = "<anonymous>"
	}
	if rec := v.get("/whoami"); rec.Code != http.StatusOK || rec.Body.String() != want {
		v.t.Errorf("%s: /whoami = %d %q, want 200 %q", when, rec.Code, rec.Body, want)
	}
}

// browseThroughFailover kills a master with kill, then browses round after
// round: every visitor sends /count and a browser without a session sends
// /none, until a round in which every visitor in affected gets 200. Requests
// of affected visitors may get 503 meanwhile, and some must: the master is
// gone until a replica replaces it. Those of the others, and /none, must get
// 200 every time. It fails t after failoverWithin, and returns how long the
// affected visitors' requests got 503: from the kill until that round.
func browseThroughFailover(t *testing.T, h http.Handler, kill func(), affected, unaffected []*visitor) time.Duration {
	t.Helper()
	plain := newClient(t, h)
	killed := time.Now()
	kill()
	deadline := killed.Add(failoverWithin)
	for failures := 0; ; {
		recovered := true
		for _, v := range affected {
			if !v.visit(true) {
				recovered = false
				failures++
			}
		}
		for _, v := range unaffected {
			v.visit(false)
		}
		if rec := plain.get("/none"); rec.Code != http.StatusOK {
			t.Errorf("during the failover: /none = %d, want 200", rec.Code)
		}
		if recovered && failures > 0 {
			return time.Since(killed)
		}
		if recovered {
			t.Fatal("every request succeeded right after the master was killed: the failover was not exercised")
		}
		if time.Now().After(deadline) {
			for i, v := range affected {
				t.Logf("visitor %d (%s): %d 503s, last status %d", i, v.key(), v.failures, v.lastStatus)
			}
			t.Fatalf("requests still fail %v after the master was killed", failoverWithin)
		}
		// A round costs little while requests fail at once; pace them.
		time.Sleep(10 * time.Millisecond)
	}
}

// replicated makes the precondition of the failover tests explicit: every
// write acknowledged so far on the master that holds key is on a replica.
// It writes a marker in key's slot and runs WAIT on the same connection: WAIT
// counts the replicas that have acknowledged every write of its connection,
// and a replica applies the replication stream in order, so one that has the
// marker has everything acknowledged before it.
func replicated(t *testing.T, master *redis.Client, key string) {
	t.Helper()
	conn := master.Conn()
	defer conn.Close()
	marker := key + ":{" + key + "}:replicated" // under the test's prefix, in key's slot
	mustNot(t, conn.Set(t.Context(), marker, "1", 0).Err(), "writing %s", marker)
	n, err := conn.Wait(t.Context(), 1, 5*time.Second).Result()
	mustNot(t, err, "WAIT")
	if n < 1 {
		t.Fatalf("WAIT 1: %d replicas acknowledged the writes", n)
	}
}
