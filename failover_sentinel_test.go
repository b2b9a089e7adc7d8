package sessions_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// TestFailoverSentinel kills (SIGKILL) the master of a Sentinel group in the
// middle of browsing, with a store on redis.NewFailoverClient behind a real
// gin engine. Until the sentinels promote the replica, requests that use
// their session get 503 and never a 2xx for a save that did not happen;
// requests that do not use it get 200. Then the same process works again, and
// every session acknowledged, and replicated (WAIT), before the kill is on
// the new master, counters and logins included.
func TestFailoverSentinel(t *testing.T) {
	g := redistest.StartSentinelGroup(t)
	rdb := closeAtEnd(t, redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    g.MasterName,
		SentinelAddrs: g.SentinelAddrs(),
		DialTimeout:   failoverIOTimeout, ReadTimeout: failoverIOTimeout, WriteTimeout: failoverIOTimeout,
		PoolTimeout: failoverIOTimeout, ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: failoverDialAttempts,
	})).(*redis.Client)
	prefix := testPrefix(t, rdb)
	engine := newEngine(sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix)), nil, failoverRoutes)

	var visitors []*visitor
	for i := range 3 {
		v := newVisitor(t, engine, prefix)
		for range 3 {
			v.visit(false)
		}
		if i == 0 {
			v.login("ada")
		}
		visitors = append(visitors, v)
	}
	for _, v := range visitors {
		v.check("before the failover")
	}
	replicated(t, rdb, visitors[0].key())

	outage := browseThroughFailover(t, engine, g.Master.Kill, visitors, nil)
	g.WaitPromoted()
	t.Logf("Sentinel failover: requests got 503 for %v (down-after-milliseconds %d, failover-timeout %d)",
		outage, redistest.SentinelDownAfter.Milliseconds(), redistest.SentinelFailoverTimeout.Milliseconds())

	for i, v := range visitors {
		v.visit(false)
		v.check(fmt.Sprintf("visitor %d on the promoted replica", i))
	}
}
