package sqlstore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// The roles a child process plays, each given its SQLite file: "serve"
// runs the test site until its standard input closes, printing its address;
// "write" saves new sessions and increments as fast as it can, printing
// each one acknowledged, until it is killed.
const (
	roleServe = "serve"
	roleWrite = "write"
)

// runChild runs the role in the child environment variable ("role:path")
// and returns the exit code.
func runChild(spec string) int {
	role, path, _ := strings.Cut(spec, ":")
	db, err := sqlite.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	store, err := sqlstore.New(context.Background(), db, sqlstore.SQLite)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer store.Close()
	switch role {
	case roleServe:
		return serve(store)
	case roleWrite:
		return write(store)
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	return 2
}

func serve(store sessions.Store) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: engine(store)}
	go srv.Serve(l)
	fmt.Println(l.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	_ = srv.Close()
	return 0
}

// writeID is the id of the i-th session the writer creates.
func writeID(i int) string {
	sum := sha256.Sum256([]byte("written " + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// write alternates new sessions and increments of the first one's counter,
// printing "new i" or "incr n" once each is saved.
func write(store sessions.Store) int {
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		now := time.Now()
		ch := sessions.Change{New: true, Set: map[string]string{"i": strconv.Itoa(i), "pad": `"` + strings.Repeat("x", 500) + `"`},
			UUID: "u", Created: now, Saved: now, Expires: now.Add(time.Hour)}
		if err := store.Save(ctx, writeID(i), ch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(out, "new %d\n", i)
		if i > 0 {
			up := sessions.Change{Incr: map[string]int64{"n": 1}, Saved: now, Expires: now.Add(time.Hour)}
			if err := store.Save(ctx, writeID(0), up); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Fprintf(out, "incr %d\n", i)
		}
		// Each line leaves only once its save has returned.
		out.Flush()
	}
}

// child starts the test binary in role on path, its standard output
// piped to the caller; it is killed when t ends.
func child(t *testing.T, role, path string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+role+":"+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(stdout), stdin
}
