package sqlstore_test

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ginsessions/sessions/sqlstore"
)

// TestSQLiteConnectionChecked: New refuses a connection without WAL or
// without a busy timeout, with a message that says what to set, and
// accepts one with both.
func TestSQLiteConnectionChecked(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   string // "" for accepted
	}{
		{"no busy timeout", "_pragma=journal_mode(WAL)", "busy_timeout(5000)"},
		{"busy timeout 0", "_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)", "no busy timeout"},
		{"rollback journal", "_pragma=busy_timeout(5000)&_pragma=journal_mode(DELETE)", "journal_mode(WAL)"},
		{"both", "_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "s.db")+"?"+tt.params)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			store, err := sqlstore.New(testCtx(t), db, sqlstore.SQLite)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				store.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want a refusal saying %q", err, tt.want)
			}
		})
	}
}

// TestSQLiteMemoryRefused: an in-memory database cannot be in WAL mode,
// and New says so.
func TestSQLiteMemoryRefused(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlstore.New(testCtx(t), db, sqlstore.SQLite); err == nil || !strings.Contains(err.Error(), "in-memory") {
		t.Fatalf("New on :memory:: %v, want a refusal that mentions in-memory databases", err)
	}
}

// TestTwoProcessesOneFile: two processes serve the same SQLite file under
// concurrent load; every request succeeds and no increment is lost.
func TestTwoProcessesOneFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	db, path := sqliteFile(t)
	if _, err := sqlstore.New(testCtx(t), db, sqlstore.SQLite); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for range 2 {
		_, out, _ := child(t, roleServe, path)
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		addrs = append(addrs, "http://"+strings.TrimSpace(line))
	}

	// One session, created by the first process.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := client.Get(addrs[0] + "/incr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sessionid" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}

	const workers, perWorker = 8, 40
	var (
		wg       sync.WaitGroup
		failures atomic.Int64
		statuses sync.Map
	)
	plain := &http.Client{Timeout: 30 * time.Second}
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				addr := addrs[(w+i)%2]
				// Half the workers also create sessions of their own,
				// so that inserts meet the updates.
				path := "/incr"
				if w%2 == 1 && i%4 == 0 {
					path = "/new"
				}
				req, _ := http.NewRequest(http.MethodGet, addr+path, nil)
				if path == "/incr" {
					req.AddCookie(cookie)
				}
				resp, err := plain.Do(req)
				if err != nil {
					failures.Add(1)
					statuses.Store(err.Error(), true)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					statuses.Store(resp.Status, true)
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		var seen []string
		statuses.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
		t.Fatalf("%d requests failed: %v", n, seen)
	}
	increments := 1 // the first request's
	for w := range workers {
		for i := range perWorker {
			if !(w%2 == 1 && i%4 == 0) {
				increments++
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, addrs[1]+"/incr", nil)
	req.AddCookie(cookie)
	resp, err = plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got := string(body); got != strconv.Itoa(increments+1) {
		t.Fatalf("counter = %s after %d increments and one more, want %d: increments were lost", got, increments, increments+1)
	}
}

// TestKilledWriterLosesNothing kills a process with SIGKILL while it writes:
// the file passes SQLite's integrity check, and every save that the process
// acknowledged before it died is there.
func TestKilledWriterLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	db, path := sqliteFile(t)
	store, err := sqlstore.New(testCtx(t), db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	cmd, out, _ := child(t, roleWrite, path)
	var (
		lastNew  = -1
		lastIncr = 0
	)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) || lastNew < 50 {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("the writer stopped after %d sessions: %v", lastNew+1, err)
		}
		kind, n, _ := strings.Cut(strings.TrimSpace(line), " ")
		i, _ := strconv.Atoi(n)
		switch kind {
		case "new":
			lastNew = i
		case "incr":
			lastIncr = i
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// What was acknowledged after the last line read is also there;
	// read the rest of the pipe to count it too.
	for {
		line, err := out.ReadString('\n')
		if err != nil {
			break
		}
		kind, n, _ := strings.Cut(strings.TrimSpace(line), " ")
		i, _ := strconv.Atoi(n)
		if kind == "new" {
			lastNew = i
		} else if kind == "incr" {
			lastIncr = i
		}
	}
	t.Logf("killed after %d acknowledged sessions and %d increments", lastNew+1, lastIncr)

	var check string
	if err := db.QueryRowContext(testCtx(t), "PRAGMA integrity_check").Scan(&check); err != nil {
		t.Fatal(err)
	}
	if check != "ok" {
		t.Fatalf("integrity_check: %s", check)
	}
	for i := 0; i <= lastNew; i++ {
		values := loaded(t, store, writeID(i))
		if values["i"] != strconv.Itoa(i) {
			t.Fatalf("session %d holds %v", i, values)
		}
	}
	if n, _ := strconv.Atoi(loaded(t, store, writeID(0))["n"]); n < lastIncr {
		t.Fatalf("the counter is %d, but %d increments were acknowledged", n, lastIncr)
	}
}
