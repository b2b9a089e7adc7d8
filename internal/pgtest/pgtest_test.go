package pgtest_test

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/pgtest"
)

// TestStopAndRestart checks that a server accepts connections once started,
// refuses them once stopped and accepts them again after Restart.
func TestStopAndRestart(t *testing.T) {
	s := pgtest.Start(t)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	reachable := func() bool {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if !reachable() {
		t.Fatalf("started server on %s refuses connections", u.Host)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if reachable() {
		t.Fatalf("stopped server on %s accepts connections", u.Host)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if !reachable() {
		t.Fatalf("restarted server on %s refuses connections", u.Host)
	}
}
