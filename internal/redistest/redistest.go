// Package redistest starts real redis-server processes for tests: single
// servers on free loopback ports, Sentinel failover groups (a master, a
// replica and three sentinels), and Redis Clusters of three masters, with or
// without a replica each, whose slots it can move from master to master. Each
// server runs in a temporary directory of the test's and is stopped, by its
// own process id, when the test ends; a test can kill, pause and restart one.
//
// The servers come from the redis-server and redis-cli programs in PATH; the
// sentinels are redis-server --sentinel.
// When they are missing, a test that needs them is skipped with a message that
// says how to get them, except when the environment has CI=true: there a
// missing server fails the test, so that CI cannot pass by running nothing.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/throwaway"
)

// startTimeout bounds how long a server may take to answer PING, and
// clusterTimeout how long a cluster may take to report cluster_state:ok.
const (
	startTimeout   = 10 * time.Second
	clusterTimeout = 30 * time.Second
)

// Addr returns the address of a Redis server for t: REDIS_ADDR when it is set,
// so that a test run can use a server that already runs, otherwise the
// address of a server started for t. Tests that share a server through
// REDIS_ADDR must keep their keys apart, for example with a key prefix of
// their own; nothing here flushes it.
func Addr(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		return addr
	}
	return Start(t).Addr
}

// Require skips t, or fails it under CI=true, unless the named programs are
// in PATH.
func Require(t testing.TB, programs ...string) {
	t.Helper()
	for _, name := range programs {
		if _, err := exec.LookPath(name); err != nil {
			msg := fmt.Sprintf("%s is not in PATH: run `make test` (it installs redis-server)", name)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg + "; CI=true requires it")
			}
			t.Skip(msg)
		}
	}
}

// Server is a redis-server process that a test started.
type Server struct {
	// Addr is the server's host:port on 127.0.0.1.
	Addr string

	t    testing.TB
	args []string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been reaped
}

// Start starts a redis-server on a free loopback port that keeps nothing on
// disk, waits until it answers PING, and stops it when t ends. extra are more
// redis-server arguments, such as "--cluster-enabled", "yes".
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return startIn(t, t.TempDir(), nil, extra...)
}

// startIn starts a server as Start does, in dir. lead are the arguments that
// must come before the port and the others, such as a configuration file.
func startIn(t testing.TB, dir string, lead []string, extra ...string) *Server {
	t.Helper()
	Require(t, "redis-server")
	var err error
	for range 3 { // another process may take the free port first
		s := &Server{t: t, dir: dir}
		port := freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = append(slices.Clone(lead),
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"),
			"--daemonize", "no",
		)
		s.args = append(s.args, extra...)
		if err = s.start(); err == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	port, err := throwaway.FreePort()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return port
}

// start runs the process and waits until it answers PING or exits.
func (s *Server) start() error {
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Dir = s.dir
	dieWithTest(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)

	deadline := time.Now().Add(startTimeout)
	for {
		reply, err := Do(s.Addr, "PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redis-server on %s exited: %s", s.Addr, s.logTail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("redis-server on %s did not answer PING within %v: %v; %s", s.Addr, startTimeout, err, s.logTail())
		}
	}
}

// stop kills the process and reaps it; stopping a stopped server does nothing.
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// running reports whether the server was started and not killed since.
func (s *Server) running() bool { return s.cmd != nil }

// Kill stops the server at once, as a crash would; Restart brings it back.
func (s *Server) Kill() {
	s.t.Helper()
	s.stop()
}

// Pause stops the process with SIGSTOP: connections still open, as the
// kernel accepts them, but nothing answers, as with a hung server or a
// network that drops packets. Resume, Kill or the end of the test undoes it.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("redistest: pausing: %v", err)
	}
	s.t.Cleanup(s.Resume)
}

// Resume continues a paused server.
func (s *Server) Resume() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// Restart starts the killed server again, on the same port and with the same
// directory (a cluster node finds its cluster configuration there), and waits
// until it answers PING. The data is gone: the server keeps nothing on disk.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restarting: %v", err)
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "no log: " + err.Error()
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "log:\n" + string(b)
}

// Do sends one command to the server at addr on a new connection and returns
// its reply: the text of a simple string, bulk string or integer reply. A
// Redis error reply is returned as an error. It is meant for setting servers
// up, not for the code under test, which goes through go-redis.
func Do(addr string, args ...string) (string, error) {
	reply, err := roundTrip(addr, args)
	if err != nil {
		return "", err
	}
	text, ok := reply.(string)
	if !ok {
		return "", fmt.Errorf("%s replied with a list; use DoList", args[0])
	}
	return text, nil
}

// DoList is Do for commands that reply with a list of strings, such as
// CLUSTER GETKEYSINSLOT or SENTINEL GET-MASTER-ADDR-BY-NAME. A null reply is
// an empty list.
func DoList(addr string, args ...string) ([]string, error) {
	reply, err := roundTrip(addr, args)
	if err != nil || reply == nil {
		return nil, err
	}
	list, ok := reply.([]string)
	if !ok {
		return nil, fmt.Errorf("%s replied %q, not a list", args[0], reply)
	}
	return list, nil
}

// roundTrip sends args as one command and reads its reply: a string, a
// []string, or nil for a null reply.
func roundTrip(addr string, args []string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return nil, err
	}
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn), true)
}

// readReply reads one RESP2 reply. A list may only hold strings (list is
// false for its elements), which is all the set-up commands need.
func readReply(r *bufio.Reader, list bool) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 {
			return nil, fmt.Errorf("unexpected reply %q", line)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if !list || err != nil || n < -1 {
			return nil, fmt.Errorf("unsupported reply %q", line)
		}
		if n == -1 {
			return nil, nil
		}
		items := make([]string, 0, n)
		for range n {
			item, err := readReply(r, false)
			if err != nil {
				return nil, err
			}
			text, _ := item.(string) // a null element reads as ""
			items = append(items, text)
		}
		return items, nil
	}
	return nil, fmt.Errorf("unsupported reply %q", line)
}
