package mariadbtest_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/mariadbtest"
)

// TestKillStopAndRestart checks that a server accepts connections once
// started, refuses them once killed or stopped, and accepts them again
// after each Restart.
func TestKillStopAndRestart(t *testing.T) {
	s := mariadbtest.Start(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	reachable := func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if !reachable() {
		t.Fatalf("started server on %s refuses connections", addr)
	}
	for _, down := range []struct {
		name string
		do   func() error
	}{{"Kill", s.Kill}, {"Stop", s.Stop}} {
		if err := down.do(); err != nil {
			t.Fatal(err)
		}
		if reachable() {
			t.Fatalf("server on %s accepts connections after %s", addr, down.name)
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		if !reachable() {
			t.Fatalf("server on %s refuses connections after %s and Restart", addr, down.name)
		}
	}
}
