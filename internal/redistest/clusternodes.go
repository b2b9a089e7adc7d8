package redistest

import (
	"fmt"
	"strconv"
	"strings"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// clusterNode is one node as a line of CLUSTER NODES describes it.
type clusterNode struct {
	id, addr, flags, masterID, link string
	// slots are the ranges the node serves ("0-5460" or "5461"); the
	// migration marks that CLUSTER NODES adds ("[5461->-id]") are left out.
	slots []string
}

func (n clusterNode) master() bool { return hasFlag(n.flags, "master") }

// failed reports whether the node is counted as failed, by the majority
// ("fail") or by this view alone ("fail?").
func (n clusterNode) failed() bool { return strings.Contains(n.flags, "fail") }

// slotCount returns how many slots the node serves.
func (n clusterNode) slotCount() int {
	count := 0
	for _, r := range n.slots {
		lo, hi, _ := slotRange(r)
		count += hi - lo + 1
	}
	return count
}

// serves reports whether the node serves slot.
func (n clusterNode) serves(slot int) bool {
	for _, r := range n.slots {
		if lo, hi, ok := slotRange(r); ok && lo <= slot && slot <= hi {
			return true
		}
	}
	return false
}

func slotRange(r string) (lo, hi int, ok bool) {
	first, last, isRange := strings.Cut(r, "-")
	lo, err1 := strconv.Atoi(first)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(last)
	}
	return lo, hi, err1 == nil && err2 == nil
}

func hasFlag(flags, flag string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if f == flag {
			return true
		}
	}
	return false
}

// view returns the cluster as the node at addr sees it.
func view(addr string) ([]clusterNode, error) {
	text, err := Do(addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	var nodes []clusterNode
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		hostPort, _, _ := strings.Cut(f[1], "@")
		n := clusterNode{id: f[0], addr: hostPort, flags: f[2], masterID: f[3], link: f[7]}
		for _, s := range f[8:] {
			if !strings.HasPrefix(s, "[") {
				n.slots = append(n.slots, s)
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// waitNodes waits until check accepts the view of every running node, and
// fails t with its last error after clusterTimeout.
func (c *Cluster) waitNodes(what string, check func(nodes []clusterNode) error) {
	c.t.Helper()
	err := poll(func() error {
		for _, s := range c.Nodes {
			if !s.running() {
				continue
			}
			nodes, err := view(s.Addr)
			if err != nil {
				return err
			}
			if err := check(nodes); err != nil {
				return fmt.Errorf("as %s sees it: %w", s.Addr, err)
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("redistest: cluster: %s not reached after %v: %v", what, clusterTimeout, err)
	}
}

// waitCovered waits until every running node sees every slot served by a
// master that is up, as it does once a slot migration has finished, and
// fails t after clusterTimeout.
func (c *Cluster) waitCovered() {
	c.t.Helper()
	c.waitNodes("every slot served", covered)
}

// WaitReplaced waits until every running node sees the killed master as
// failed, serving nothing, and every slot served by a master that is up: one
// of its replicas has taken its place. It fails t after clusterTimeout.
func (c *Cluster) WaitReplaced(killed *Server) {
	c.t.Helper()
	c.waitNodes(killed.Addr+" replaced", func(nodes []clusterNode) error {
		for _, n := range nodes {
			if n.addr == killed.Addr && (!n.failed() || len(n.slots) > 0) {
				return fmt.Errorf("%s is %s and serves %v", n.addr, n.flags, n.slots)
			}
		}
		return covered(nodes)
	})
}

func covered(nodes []clusterNode) error {
	count := 0
	for _, n := range nodes {
		if n.master() && !n.failed() {
			count += n.slotCount()
		}
	}
	if count != clusterSlots {
		return fmt.Errorf("%d of %d slots served by masters that are up", count, clusterSlots)
	}
	return nil
}

// Master returns the server that a running node sees as the master serving
// slot, and fails t when there is none.
func (c *Cluster) Master(slot int) *Server {
	c.t.Helper()
	n := c.master(slot)
	s := c.Node(n.addr)
	if s == nil {
		c.t.Fatalf("redistest: slot %d is served by %s, not a node of this cluster", slot, n.addr)
	}
	return s
}

func (c *Cluster) master(slot int) clusterNode {
	c.t.Helper()
	nodes, err := view(c.running().Addr)
	if err != nil {
		c.t.Fatalf("redistest: CLUSTER NODES: %v", err)
	}
	for _, n := range nodes {
		if n.master() && n.serves(slot) {
			return n
		}
	}
	c.t.Fatalf("redistest: no master serves slot %d", slot)
	return clusterNode{}
}

// Masters returns the servers that a running node sees as masters that are
// up and serve slots.
func (c *Cluster) Masters() []*Server {
	c.t.Helper()
	nodes, err := view(c.running().Addr)
	if err != nil {
		c.t.Fatalf("redistest: CLUSTER NODES: %v", err)
	}
	var masters []*Server
	for _, n := range nodes {
		if n.master() && !n.failed() && len(n.slots) > 0 {
			masters = append(masters, c.Node(n.addr))
		}
	}
	return masters
}

// KeySlot returns the hash slot of key.
func (c *Cluster) KeySlot(key string) int {
	c.t.Helper()
	reply, err := Do(c.running().Addr, "CLUSTER", "KEYSLOT", key)
	if err != nil {
		c.t.Fatalf("redistest: CLUSTER KEYSLOT: %v", err)
	}
	slot, err := strconv.Atoi(reply)
	if err != nil {
		c.t.Fatalf("redistest: CLUSTER KEYSLOT replied %q", reply)
	}
	return slot
}

// running returns a node that runs.
func (c *Cluster) running() *Server {
	c.t.Helper()
	for _, s := range c.Nodes {
		if s.running() {
			return s
		}
	}
	c.t.Fatal("redistest: no cluster node runs")
	return nil
}
