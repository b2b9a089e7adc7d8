package sessions_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// clusterStateReload is how often the cluster client rereads the slot map
// while requests run. go-redis's default, a minute, would keep sending a
// killed master's slots to it for up to that long after its replica took
// over: a dead master answers no MOVED that would tell the client.
const clusterStateReload = time.Second

// newFailoverClusterClient returns a cluster client with the failover tests'
// settings, closed when t ends.
func newFailoverClusterClient(t *testing.T, c *redistest.Cluster) *redis.ClusterClient {
	return closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:       c.Addrs(),
		DialTimeout: failoverIOTimeout, ReadTimeout: failoverIOTimeout, WriteTimeout: failoverIOTimeout,
		PoolTimeout: failoverIOTimeout, ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: failoverDialAttempts,
		ClusterStateReloadInterval: clusterStateReload,
	})).(*redis.ClusterClient)
}

// TestFailoverCluster kills (SIGKILL) one master of a cluster of three
// masters with a replica each, the one that holds a logged-in session, in the
// middle of browsing. Until its replica is promoted, requests whose session
// lives on it get 503, never a 2xx for a save that did not happen, while
// sessions on the other masters, and requests without a session, get 200 on
// every request. Then the same process works again, and every session
// acknowledged and replicated (WAIT) before the kill is there.
func TestFailoverCluster(t *testing.T) {
	c := redistest.StartClusterWithReplicas(t)
	rdb := newFailoverClusterClient(t, c)
	prefix := testPrefix(t, rdb)
	engine := newEngine(sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix)), nil, failoverRoutes)

	first := newVisitor(t, engine, prefix)
	first.visit(false)
	first.login("ada")
	first.visit(false)
	victim := c.Master(c.KeySlot(first.key()))

	// Visitors until every master holds at least one session.
	affected, unaffected := []*visitor{first}, []*visitor(nil)
	onMaster := map[*redistest.Server]bool{victim: true}
	for range 200 {
		if len(onMaster) == 3 {
			break
		}
		v := newVisitor(t, engine, prefix)
		v.visit(false)
		v.visit(false)
		master := c.Master(c.KeySlot(v.key()))
		onMaster[master] = true
		if master == victim {
			affected = append(affected, v)
		} else {
			unaffected = append(unaffected, v)
		}
	}
	if len(onMaster) != 3 {
		t.Fatalf("sessions on %d masters after 200 visitors, want 3", len(onMaster))
	}
	for _, v := range append(affected, unaffected...) {
		v.check("before the failover")
		master, err := rdb.MasterForKey(t.Context(), v.key())
		mustNot(t, err, "finding the master of %s", v.key())
		replicated(t, master, v.key())
	}

	outage := browseThroughFailover(t, engine, victim.Kill, affected, unaffected)
	c.WaitReplaced(victim)
	t.Logf("Cluster failover: requests on the killed master got 503 for %v (cluster-node-timeout %d, ClusterStateReloadInterval %v); %d sessions on the other masters answered 200 throughout",
		outage, redistest.ClusterNodeTimeout.Milliseconds(), clusterStateReload, len(unaffected))

	for i, v := range append(affected, unaffected...) {
		v.visit(false)
		v.check(fmt.Sprintf("visitor %d after the failover", i))
	}
}
