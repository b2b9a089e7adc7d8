package redistest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Sentinel timings of a SentinelGroup: a master that does not answer for
// SentinelDownAfter is down, and a failover that does not finish within
// SentinelFailoverTimeout is tried again (after twice that time) by another
// sentinel. Production groups use seconds to tens of seconds; these are short
// so that a test fails over in a few seconds.
const (
	SentinelDownAfter       = time.Second
	SentinelFailoverTimeout = 3 * time.Second
)

// SentinelGroup is a Sentinel failover group that a test started: a master,
// one replica and three sentinels, with a quorum of two, watching them under
// MasterName. Every server is stopped when the test ends.
type SentinelGroup struct {
	// MasterName is the name the sentinels know the master by, the
	// MasterName of redis.FailoverOptions.
	MasterName string
	// Master and Replica are the servers as they started; once the
	// sentinels promote the replica, it is the master.
	Master, Replica *Server
	// Sentinels are the three sentinels.
	Sentinels []*Server

	t testing.TB
}

// StartSentinelGroup starts a master, a replica of it and three sentinels
// (redis-server --sentinel, each with a configuration file of its own in a
// temporary directory, which Sentinel rewrites as it learns the group), and
// waits until the replica has synchronised and every sentinel knows the
// replica and the other two sentinels, so that a failover can start as soon
// as the master goes down.
func StartSentinelGroup(t testing.TB) *SentinelGroup {
	t.Helper()
	g := &SentinelGroup{MasterName: "sessionstest", t: t}
	g.Master = Start(t)
	host, port, _ := net.SplitHostPort(g.Master.Addr)
	g.Replica = Start(t, "--replicaof", host, port)
	for range 3 {
		g.Sentinels = append(g.Sentinels, g.startSentinel(host, port))
	}
	g.waitReady()
	return g
}

func (g *SentinelGroup) startSentinel(host, port string) *Server {
	g.t.Helper()
	dir := g.t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf(`sentinel monitor %[1]s %[2]s %[3]s 2
sentinel down-after-milliseconds %[1]s %[4]d
sentinel failover-timeout %[1]s %[5]d
sentinel parallel-syncs %[1]s 1
`, g.MasterName, host, port, SentinelDownAfter.Milliseconds(), SentinelFailoverTimeout.Milliseconds())
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		g.t.Fatalf("redistest: writing %s: %v", conf, err)
	}
	// The configuration file must be the first argument.
	return startIn(g.t, dir, []string{conf, "--sentinel"})
}

// SentinelAddrs returns the sentinels' addresses, the SentinelAddrs of
// redis.FailoverOptions.
func (g *SentinelGroup) SentinelAddrs() []string {
	addrs := make([]string, len(g.Sentinels))
	for i, s := range g.Sentinels {
		addrs[i] = s.Addr
	}
	return addrs
}

// masterAddr returns the address that the sentinel s gives for the master.
func (g *SentinelGroup) masterAddr(s *Server) (string, error) {
	reply, err := DoList(s.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", g.MasterName)
	if err != nil {
		return "", err
	}
	if len(reply) != 2 {
		return "", fmt.Errorf("sentinel %s does not know master %s: %q", s.Addr, g.MasterName, reply)
	}
	return net.JoinHostPort(reply[0], reply[1]), nil
}

// WaitPromoted waits until every sentinel gives the replica's address for the
// master and the replica reports role:master, and fails t after
// clusterTimeout.
func (g *SentinelGroup) WaitPromoted() {
	g.t.Helper()
	g.wait("the replica's promotion", func() error {
		for _, s := range g.Sentinels {
			addr, err := g.masterAddr(s)
			if err != nil {
				return err
			}
			if addr != g.Replica.Addr {
				return fmt.Errorf("sentinel %s gives master %s", s.Addr, addr)
			}
		}
		return hasLine(g.Replica.Addr, "role:master", "INFO", "replication")
	})
}

// waitReady waits until the replica is in sync and every sentinel sees the
// master up, with one replica and two other sentinels: a sentinel learns of
// the others through the master, every two seconds.
func (g *SentinelGroup) waitReady() {
	g.t.Helper()
	g.wait("the Sentinel group", func() error {
		if err := hasLine(g.Replica.Addr, "master_link_status:up", "INFO", "replication"); err != nil {
			return err
		}
		for _, s := range g.Sentinels {
			fields, err := DoList(s.Addr, "SENTINEL", "MASTER", g.MasterName)
			if err != nil {
				return err
			}
			state := map[string]string{}
			for i := 0; i+1 < len(fields); i += 2 {
				state[fields[i]] = fields[i+1]
			}
			if state["flags"] != "master" || state["num-slaves"] != "1" || state["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel %s sees flags=%s num-slaves=%s num-other-sentinels=%s",
					s.Addr, state["flags"], state["num-slaves"], state["num-other-sentinels"])
			}
		}
		return nil
	})
}

// wait polls ready until it returns nil, and fails t with its last error
// after clusterTimeout.
func (g *SentinelGroup) wait(what string, ready func() error) {
	g.t.Helper()
	if err := poll(ready); err != nil {
		g.t.Fatalf("redistest: %s not ready after %v: %v", what, clusterTimeout, err)
	}
}

// poll calls ready every 20ms until it returns nil or clusterTimeout has
// passed, and returns its last error.
func poll(ready func() error) error {
	deadline := time.Now().Add(clusterTimeout)
	for {
		err := ready()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasLine returns nil when the reply of the server at addr to cmd, such as
// INFO replication, has the line want, and an error that says why not
// otherwise.
func hasLine(addr, want string, cmd ...string) error {
	reply, err := Do(addr, cmd...)
	if err != nil {
		return err
	}
	for line := range strings.Lines(reply) {
		if strings.TrimSpace(line) == want {
			return nil
		}
	}
	return fmt.Errorf("%s: %s has no %q", addr, strings.Join(cmd, " "), want)
}
