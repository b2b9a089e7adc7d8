package redistest

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterNodeTimeout is how long a node of a cluster with replicas may stay
// silent before the others count it as failed and one of its replicas takes
// its place. Production clusters use seconds to tens of seconds; this is
// short so that a test fails over in a few seconds.
const ClusterNodeTimeout = time.Second

// Cluster is a Redis Cluster that a test started: three masters, with or
// without a replica each. Redis needs at least three masters for a cluster.
type Cluster struct {
	// Nodes are the servers, in the order given to redis-cli. Without
	// replicas they are the masters, in the order of their slot ranges;
	// with replicas, Master and Masters say which serve what, before and
	// after a failover.
	Nodes []*Server
	t     testing.TB
}

// StartCluster starts three cluster-enabled servers, joins them with
// `redis-cli --cluster create`, waits until every node reports
// cluster_state:ok, and stops them when t ends. It ignores REDIS_ADDR: a
// cluster always belongs to its test.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	// Short enough that a killed node is seen as failed, and its return as
	// healed, within seconds; long enough for a busy two-core machine not
	// to flap.
	return startCluster(t, 0, "--cluster-node-timeout", "2000")
}

// StartClusterWithReplicas starts a cluster of three masters with one replica
// each, as StartCluster does, and also waits until every replica is in sync
// with its master and known to every node, so that a killed master can be
// replaced at once. The node timeout is ClusterNodeTimeout, and
// cluster-require-full-coverage is off: while a master is down and not yet
// replaced, the other masters keep serving their slots, where the default
// would stop the whole cluster.
func StartClusterWithReplicas(t testing.TB) *Cluster {
	t.Helper()
	c := startCluster(t, 1,
		"--cluster-node-timeout", strconv.FormatInt(ClusterNodeTimeout.Milliseconds(), 10),
		"--cluster-require-full-coverage", "no")
	c.waitNodes("replicas in sync", func(nodes []clusterNode) error {
		var masters, replicas int
		for _, n := range nodes {
			switch {
			case n.failed() || n.link != "connected":
				return fmt.Errorf("node %s is %s, %s", n.addr, n.flags, n.link)
			case n.master():
				masters++
			default:
				replicas++
				if err := hasLine(n.addr, "master_link_status:up", "INFO", "replication"); err != nil {
					return err
				}
			}
		}
		if masters != 3 || replicas != 3 {
			return fmt.Errorf("%d masters and %d replicas", masters, replicas)
		}
		return nil
	})
	return c
}

func startCluster(t testing.TB, replicas int, extra ...string) *Cluster {
	t.Helper()
	Require(t, "redis-server", "redis-cli")
	c := &Cluster{t: t}
	args := []string{"--cluster", "create"}
	for range 3 * (1 + replicas) {
		dir := t.TempDir()
		s := Start(t, append([]string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", dir + "/nodes.conf",
		}, extra...)...)
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c.WaitOK()
	return c
}

// Addrs returns the nodes' addresses, the seeds for redis.ClusterOptions.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Node returns the node listening on addr, or nil.
func (c *Cluster) Node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// WaitOK waits until every running node answers CLUSTER INFO with
// cluster_state:ok, as it does once all slots are served, and fails t after
// clusterTimeout.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	for _, n := range c.Nodes {
		if !n.running() {
			continue
		}
		if err := poll(func() error { return hasLine(n.Addr, "cluster_state:ok", "CLUSTER", "INFO") }); err != nil {
			c.t.Fatalf("redistest: cluster node %s not ok after %v: %v", n.Addr, clusterTimeout, err)
		}
	}
}
