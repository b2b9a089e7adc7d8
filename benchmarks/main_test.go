package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// redisAddr is the Redis server every Redis benchmark talks to: the one named
// by BENCH_REDIS_ADDR, or one started by TestMain. It is empty when there is
// none, and noRedis then says why.
var (
	redisAddr string
	noRedis   string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	stopPostgres, err := startPostgres()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	defer stopPostgres()
	stopMariaDB, err := startMariaDB()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	defer stopMariaDB()
	if addr := os.Getenv("BENCH_REDIS_ADDR"); addr != "" {
		redisAddr = addr
		return m.Run()
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		noRedis = "redis-server is not on PATH: install it (make redis-server, or apt-get install redis-server) or set BENCH_REDIS_ADDR to a throwaway server"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "benchmarks:", noRedis)
			return 1
		}
		return m.Run()
	}
	addr, stop, err := startRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	defer stop()
	redisAddr = addr
	return m.Run()
}

// needRedis returns the Redis address, or skips tb with a message that says
// how to get one. Under CI=true TestMain has already failed instead.
func needRedis(tb testing.TB) string {
	tb.Helper()
	if redisAddr == "" {
		tb.Skip("skipping the Redis systems: " + noRedis)
	}
	return redisAddr
}

// startRedis starts a throwaway redis-server on a free loopback port in a
// temporary folder, keeping nothing on disk, and waits until it answers.
func startRedis() (addr string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "bench-redis-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitForRedis(addr); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitForRedis polls until the server answers PING: a process that has just
// been started gives no other sign that it is ready.
func waitForRedis(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := redigo.Dial("tcp", addr)
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("benchmarks: redis-server on %s did not answer", addr), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
