// Package pgtest starts throwaway PostgreSQL servers for tests and
// benchmarks: initdb into a temporary folder, then postgres on a free
// loopback port, with the server's unix socket in the same folder, so that nothing
// touches a PostgreSQL the machine already runs. A test can stop and start
// its server again to see what an outage does.
//
// The programs come from PATH or from Debian's /usr/lib/postgresql/N/bin.
// When they are missing, a test that needs them is skipped with a message
// that says how to get them, except when the environment has CI=true: there
// a missing server fails the test, so that CI cannot pass by running nothing.
// PG_URL selects an existing server instead of a throwaway one.
package pgtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/throwaway"
)

// EnvURL names the environment variable that points the tests at an
// existing server. Tests that share one must keep their tables apart; nothing
// here drops anything it did not create.
const EnvURL = "PG_URL"

// missingHint says how to get the programs when they are missing.
const missingHint = "run `make test` (it installs postgresql from Debian's packages) or set " + EnvURL + " to a server the tests may write to"

// Start starts a throwaway server for t and stops it, removing its files,
// when t ends. Without the programs it skips t, or fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	return throwaway.Start(t, Launch, ErrMissing)
}

// ForMain finds the server that a TestMain shares among its tests: the URL
// in the first of the environment variables envs that is set, otherwise a
// throwaway server, which stop stops. Without the programs, url is "" and
// missing says how to get them, except under CI=true, where that is an
// error.
func ForMain(envs ...string) (url, missing string, stop func(), err error) {
	return throwaway.ForMain(envs, Launch, ErrMissing, func(s *Server) string { return s.URL })
}

// ErrMissing means initdb or postgres could not be found.
var ErrMissing = errors.New("pgtest: PostgreSQL's initdb and postgres are not in PATH nor in /usr/lib/postgresql/*/bin: " + missingHint)

// Server is a throwaway PostgreSQL server.
type Server struct {
	// URL connects to the server's "postgres" database as the superuser
	// "postgres", over TCP on 127.0.0.1.
	URL string

	bin, dir, data string
	port           int
	cred           *syscall.Credential // nil unless the server runs as another user
	cmd            *exec.Cmd           // nil while stopped
	exited         chan struct{}       // closed once cmd has been reaped
}

// Launch initialises a database cluster in a new temporary folder and
// starts a server on it. The caller must Close it. Running as root, it runs
// the server as the user postgres, since PostgreSQL refuses to run as root.
func Launch() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if s.cred, err = serverCredential(); err != nil {
		return nil, err
	}
	if s.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	s.data = filepath.Join(s.dir, "data")
	if err := s.prepareDir(); err != nil {
		s.removeDir()
		return nil, err
	}
	if err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		s.removeDir()
		return nil, err
	}
	for range 3 { // another process may take the free port first
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.Restart(); err == nil {
			s.URL = (&url.URL{Scheme: "postgres", User: url.User("postgres"),
				Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/postgres",
				RawQuery: "sslmode=disable"}).String()
			return s, nil
		}
	}
	s.removeDir()
	return nil, err
}

// Stop stops the server at once (PostgreSQL's immediate shutdown:
// connections are cut as in a crash), keeping its data for Restart.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	<-s.exited
	s.cmd = nil
	return nil
}

// Restart starts the stopped server again on the same port and waits until
// it accepts connections. fsync is off, which loses data only when the
// machine itself crashes: a commit still reaches the operating system
// before it returns, so it survives Stop.
//
// The server is a child of this process, not a daemon, and the kernel
// stops it if this process dies before Close (a panic, a -timeout), so
// that no server outlives its test.
func (s *Server) Restart() error {
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	// A server that was stopped is gone, so its pid file is stale, and
	// ready must not read it.
	_ = os.Remove(filepath.Join(s.data, "postmaster.pid"))
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-k", s.dir, "-c", "fsync=off")
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, log, log
	cmd.SysProcAttr = serverAttr(s.cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(startTimeout)
	for !s.ready() {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("pgtest: postgres on port %d exited; server log:\n%s", s.port, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("pgtest: postgres on port %d was not ready within %v; server log:\n%s", s.port, startTimeout, s.logTail())
		}
	}
	return nil
}

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 30 * time.Second

// ready reports whether the server says, in its postmaster.pid, that it
// accepts connections: the eighth line is "ready" then, as pg_ctl reads it.
func (s *Server) ready() bool {
	pid, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(pid), "\n")
	return len(lines) > 7 && strings.TrimSpace(lines[7]) == "ready"
}

func (s *Server) logTail() []byte {
	log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return tail(log)
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	_ = s.Stop()
	s.removeDir()
}

// prepareDir hands the folder to the user the server runs as.
func (s *Server) prepareDir() error {
	if s.cred == nil {
		return nil
	}
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	return os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid))
}

func (s *Server) removeDir() { _ = os.RemoveAll(s.dir) }

// run runs one of the PostgreSQL programs as the server's user.
func (s *Server) run(program string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, program), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s %s: %w\n%s", program, strings.Join(args, " "), err, out)
	}
	return nil
}

// tail keeps the end of a log, where the reason for a failure is.
func tail(log []byte) []byte {
	const max = 4000
	if len(log) > max {
		return log[len(log)-max:]
	}
	return log
}

// binDir finds the folder holding initdb and postgres: PATH first, then
// the newest of Debian's versioned folders, where its packages put them.
func binDir() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		_, errInit := os.Stat(filepath.Join(dir, "initdb"))
		_, errServer := os.Stat(filepath.Join(dir, "postgres"))
		if errInit == nil && errServer == nil {
			return dir, nil
		}
	}
	return "", ErrMissing
}

// version is the major version in a path like /usr/lib/postgresql/15/bin.
func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// serverCredential is the user the server must run as: nobody else when
// the process is not root, otherwise postgres, which Debian's packages
// create.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, the server must run as the user postgres: %w; %s", err, missingHint)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	port, err := throwaway.FreePort()
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	return port, nil
}
