// Package throwaway holds what the test helpers that start a database
// server of their own (internal/pgtest, internal/mariadbtest) share: when
// the server's programs are missing, a test is skipped, or failed under
// CI=true, where a missing server is never a skip; one server can serve
// all of a package's tests from its TestMain; and a free loopback port.
package throwaway

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
)

// Server is a server a helper launched: Close stops it and removes its
// files.
type Server interface{ Close() }

// Start launches a server for t and closes it when t ends. When launch
// fails with an error wrapping missing, the server's programs are not
// installed: Start skips t, or fails it under CI=true. Any other error
// fails t.
func Start[S Server](t testing.TB, launch func() (S, error), missing error) S {
	t.Helper()
	s, err := launch()
	if errors.Is(err, missing) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true requires it", err)
		}
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// ForMain finds the server that a TestMain shares among its tests: the
// address in the first of the environment variables envs that is set,
// otherwise a throwaway server from launch, whose address is addr(s) and
// which stop stops. When launch fails with an error wrapping missing, the
// address is "" and why says how to get the programs, except under
// CI=true, where that is an error.
func ForMain[S Server](envs []string, launch func() (S, error), missing error, addr func(S) string) (address, why string, stop func(), err error) {
	for _, name := range envs {
		if a := os.Getenv(name); a != "" {
			return a, "", func() {}, nil
		}
	}
	s, err := launch()
	if errors.Is(err, missing) && os.Getenv("CI") != "true" {
		return "", err.Error(), func() {}, nil
	}
	if err != nil {
		return "", "", nil, err
	}
	return addr(s), "", s.Close, nil
}

// FreePort returns a loopback TCP port that nothing listened on a moment
// ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
