// Package mariadbtest starts throwaway MariaDB servers for tests and
// benchmarks: mariadb-install-db into a temporary folder, then mariadbd on
// a free loopback port, with its unix socket in the same folder, so that
// nothing touches a MariaDB or MySQL the machine already runs. A test can
// stop, kill and start its server again to see what an outage does.
//
// The programs come from PATH or from /usr/sbin and /usr/bin, where
// Debian's mariadb-server package puts them. When they are missing, a test
// that needs them is skipped with a message that says how to get them,
// except when the environment has CI=true: there a missing server fails
// the test, so that CI cannot pass by running nothing. MARIADB_DSN selects
// an existing server instead of a throwaway one.
//
// The package speaks no SQL, so that the module it lives in needs no
// MySQL driver: the server is ready when it greets a client, and the
// database "test" that the tests use is made by mariadb-install-db.
package mariadbtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/throwaway"
)

// EnvDSN names the environment variable that points the tests at an
// existing server, as a github.com/go-sql-driver/mysql DSN. Tests that
// share one must keep their tables apart.
const EnvDSN = "MARIADB_DSN"

// missingHint says how to get the programs when they are missing.
const missingHint = "run `make test` (it installs mariadb-server from Debian's packages) or set " + EnvDSN + " to a server the tests may write to"

// ErrMissing means mariadbd or mariadb-install-db could not be found.
var ErrMissing = errors.New("mariadbtest: mariadbd and mariadb-install-db are not in PATH nor in /usr/sbin, /usr/bin: " + missingHint)

// Start starts a throwaway server for t and stops it, removing its files,
// when t ends. Without the programs it skips t, or fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	return throwaway.Start(t, Launch, ErrMissing)
}

// ForMain finds the server that a TestMain shares among its tests: the DSN
// in the first of the environment variables envs that is set, otherwise a
// throwaway server, which stop stops. Without the programs, dsn is "" and
// missing says how to get them, except under CI=true, where that is an
// error.
func ForMain(envs ...string) (dsn, missing string, stop func(), err error) {
	return throwaway.ForMain(envs, Launch, ErrMissing, func(s *Server) string { return s.DSN })
}

// Server is a throwaway MariaDB server.
type Server struct {
	// DSN connects to the database "test" as root, who has no password,
	// over TCP on 127.0.0.1, in github.com/go-sql-driver/mysql's form.
	DSN string
	// Port is the server's TCP port on 127.0.0.1, and Socket its unix
	// socket.
	Port   int
	Socket string

	server, dir, data string
	cmd               *exec.Cmd     // nil while stopped
	exited            chan struct{} // closed once cmd has been reaped
}

// Launch creates a data folder in a new temporary folder and starts a
// server on it. The caller must Close it. Running as root, the server runs
// as root too (--user=root), since its files are root's.
func Launch() (*Server, error) {
	server, install, err := programs()
	if err != nil {
		return nil, err
	}
	s := &Server{server: server}
	if s.dir, err = os.MkdirTemp("", "mariadbtest-"); err != nil {
		return nil, err
	}
	s.data = filepath.Join(s.dir, "data")
	s.Socket = filepath.Join(s.dir, "mariadbd.sock")
	args := []string{"--no-defaults", "--datadir=" + s.data, "--auth-root-authentication-method=normal",
		"--skip-name-resolve", "--basedir=/usr"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.Command(install, args...)
	cmd.Dir = s.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		s.removeDir()
		return nil, fmt.Errorf("mariadbtest: mariadb-install-db: %w\n%s", err, tail(out))
	}
	for range 3 { // another process may take the free port first
		if s.Port, err = freePort(); err != nil {
			break
		}
		if err = s.Restart(); err == nil {
			s.DSN = fmt.Sprintf("root@tcp(127.0.0.1:%d)/test", s.Port)
			return s, nil
		}
	}
	s.removeDir()
	return nil, err
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it, keeping
// its data for Restart.
func (s *Server) Stop() error { return s.signal(syscall.SIGTERM) }

// Kill stops the server as a crash does (SIGKILL): connections are cut
// and nothing is flushed; Restart recovers the data from InnoDB's log.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(sig)
	<-s.exited
	s.cmd = nil
	return nil
}

// Restart starts the stopped server again on the same port and waits until
// it greets clients. InnoDB writes its log at each commit but does not wait
// for the disk (innodb_flush_log_at_trx_commit=2), which loses data only
// when the machine itself crashes: a commit survives Kill.
//
// The server is a child of this process, not a daemon, and the kernel
// kills it if this process dies before Close (a panic, a -timeout), so
// that no server outlives its test.
func (s *Server) Restart() error {
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	args := []string{"--no-defaults", "--datadir=" + s.data, "--socket=" + s.Socket,
		"--port=" + strconv.Itoa(s.Port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--pid-file=" + filepath.Join(s.dir, "mariadbd.pid"), "--log-error=" + filepath.Join(s.dir, "server.log"),
		"--innodb-flush-log-at-trx-commit=2", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=32M",
		"--innodb-use-native-aio=0", "--skip-log-bin", "--max-connections=500"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.Command(s.server, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, log, log
	cmd.SysProcAttr = serverAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mariadbtest: starting mariadbd: %w", err)
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
			return fmt.Errorf("mariadbtest: mariadbd on port %d exited; server log:\n%s", s.Port, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return fmt.Errorf("mariadbtest: mariadbd on port %d was not ready within %v; server log:\n%s", s.Port, startTimeout, s.logTail())
		}
	}
	return nil
}

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

// ready reports whether the server greets a client on its port: the first
// packet of the MySQL protocol, whose first byte after the 4-byte header is
// the protocol version, 10. mariadbd listens only once it can serve.
func (s *Server) ready() bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var greeting [5]byte
	if _, err := conn.Read(greeting[:]); err != nil {
		return false
	}
	return greeting[4] == 10
}

func (s *Server) logTail() []byte {
	log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return tail(log)
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	_ = s.Kill()
	s.removeDir()
}

func (s *Server) removeDir() { _ = os.RemoveAll(s.dir) }

// tail keeps the end of a log, where the reason for a failure is.
func tail(log []byte) []byte {
	const max = 4000
	if len(log) > max {
		return log[len(log)-max:]
	}
	return log
}

// programs finds mariadbd and mariadb-install-db: PATH first, then where
// Debian puts them (/usr/sbin is not in every PATH).
func programs() (server, install string, err error) {
	find := func(name string, dirs ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		return ""
	}
	server = find("mariadbd", "/usr/sbin", "/usr/bin", "/usr/local/bin")
	install = find("mariadb-install-db", "/usr/bin", "/usr/sbin", "/usr/local/bin")
	if server == "" || install == "" {
		return "", "", ErrMissing
	}
	return server, install, nil
}

func freePort() (int, error) {
	port, err := throwaway.FreePort()
	if err != nil {
		return 0, fmt.Errorf("mariadbtest: %w", err)
	}
	return port, nil
}

// String describes the server for a test's log.
func (s *Server) String() string {
	return "mariadbd on 127.0.0.1:" + strconv.Itoa(s.Port) + " (" + strings.TrimSuffix(s.dir, "/") + ")"
}
