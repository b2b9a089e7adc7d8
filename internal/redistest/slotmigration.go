package redistest

import (
	"net"
	"strconv"
)

// SlotMigration is a hash slot on its way from one master to another, moved
// in the steps that `redis-cli --cluster reshard` takes, one call each, so
// that a test can run requests between them. Meanwhile a client that asks
// the old master for a key already moved is sent on with an ASK redirection;
// once the migration is finished, with MOVED.
type SlotMigration struct {
	// Slot is the slot being moved, From its old master and To its new one.
	Slot     int
	From, To *Server

	c            *Cluster
	fromID, toID string
}

// MigrateSlot starts moving slot to the master to: to is set IMPORTING it,
// then its master MIGRATING it. Keys stay where they are until MoveKeys. It
// fails t when to already serves slot.
func (c *Cluster) MigrateSlot(slot int, to *Server) *SlotMigration {
	c.t.Helper()
	from := c.master(slot)
	m := &SlotMigration{Slot: slot, From: c.Node(from.addr), To: to, c: c, fromID: from.id}
	if m.From == to {
		c.t.Fatalf("redistest: %s already serves slot %d", to.Addr, slot)
	}
	m.toID = m.do(to, "CLUSTER", "MYID")
	m.do(to, "CLUSTER", "SETSLOT", strconv.Itoa(slot), "IMPORTING", m.fromID)
	m.do(m.From, "CLUSTER", "SETSLOT", strconv.Itoa(slot), "MIGRATING", m.toID)
	return m
}

// MoveKeys moves every key of the slot to the new master with MIGRATE, a
// batch at a time; each key moves atomically.
func (m *SlotMigration) MoveKeys() {
	m.c.t.Helper()
	host, port, _ := net.SplitHostPort(m.To.Addr)
	for range clusterSlots { // a bound: a batch per round, far more than any test's keys
		keys, err := DoList(m.From.Addr, "CLUSTER", "GETKEYSINSLOT", strconv.Itoa(m.Slot), "100")
		if err != nil {
			m.c.t.Fatalf("redistest: CLUSTER GETKEYSINSLOT on %s: %v", m.From.Addr, err)
		}
		if len(keys) == 0 {
			return
		}
		m.do(m.From, append([]string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}, keys...)...)
	}
	m.c.t.Fatalf("redistest: slot %d still has keys on %s", m.Slot, m.From.Addr)
}

// Finish gives the slot to the new master on every master, the new one
// first, as redis-cli does, and waits until every node sees every slot
// served.
func (m *SlotMigration) Finish() {
	m.c.t.Helper()
	setslot := []string{"CLUSTER", "SETSLOT", strconv.Itoa(m.Slot), "NODE", m.toID}
	m.do(m.To, setslot...)
	m.do(m.From, setslot...)
	for _, s := range m.c.Masters() {
		if s != m.To && s != m.From {
			m.do(s, setslot...)
		}
	}
	m.c.waitCovered()
}

func (m *SlotMigration) do(s *Server, args ...string) string {
	m.c.t.Helper()
	reply, err := Do(s.Addr, args...)
	if err != nil {
		m.c.t.Fatalf("redistest: %v on %s: %v", args, s.Addr, err)
	}
	return reply
}
