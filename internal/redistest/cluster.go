package redistest

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of three masters and no replicas that a test
// started. Redis needs at least three masters for a cluster.
type Cluster struct {
	// Nodes are the masters, in the order of their slot ranges.
	Nodes []*Server
	t     testing.TB
}

// StartCluster starts three cluster-enabled servers, joins them with
// `redis-cli --cluster create`, waits until every node reports
// cluster_state:ok, and stops them when t ends. It ignores REDIS_ADDR: a
// cluster always belongs to its test.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	Require(t, "redis-server", "redis-cli")
	c := &Cluster{t: t}
	args := []string{"--cluster", "create"}
	for range 3 {
		dir := t.TempDir()
		s := Start(t,
			"--cluster-enabled", "yes",
			"--cluster-config-file", dir+"/nodes.conf",
			// Short enough that a killed node is seen as failed, and its
			// return as healed, within seconds; long enough for a busy
			// two-core machine not to flap.
			"--cluster-node-timeout", "2000",
		)
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-yes")
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

// WaitOK waits until every node answers CLUSTER INFO with cluster_state:ok,
// as it does once all slots are served, and fails t after clusterTimeout.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(clusterTimeout)
	for _, n := range c.Nodes {
		for {
			info, err := Do(n.Addr, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("redistest: cluster node %s not ok after %v: %v\n%s", n.Addr, clusterTimeout, err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
