package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/mariadbtest"
	"github.com/ginsessions/sessions/sqlstore"
)

// recoverWithin bounds how many requests may fail after the server is back
// before the test gives up: the pool may still hold connections that died
// with the old server.
const recoverWithin = 20

// TestMariaDBKilledMidBrowsing kills the server (SIGKILL) while visitors
// browse: every answer is 200 or 503, never another error; with the server
// down, a request that needs its session gets 503 and one that never
// touches it 200; once the server is back, the same process serves the
// session again, its data intact.
func TestMariaDBKilledMidBrowsing(t *testing.T) {
	srv := mariadbtest.Start(t) // a server of its own: it is killed
	for _, params := range []string{"", "?parseTime=true"} {
		t.Run("dsn"+params, func(t *testing.T) {
			db := openMaria(t, srv.DSN+params+sep(params)+"timeout=1s&readTimeout=2s&writeTimeout=2s")
			store, _, _ := newStoreOn(t, db, sqlstore.MySQL)
			h := engine(store)
			cookie := sessionCookie(t, get(h, "/counter", nil))
			if w := get(h, "/counter", cookie); w.Body.String() != "2" {
				t.Fatalf("second visit: %d %q, want 2", w.Code, w.Body.String())
			}

			// Visitors browse while the server dies.
			var (
				stop    atomic.Bool
				wg      sync.WaitGroup
				badMu   sync.Mutex
				bad     []string
				browsed atomic.Int64
			)
			for range 4 {
				wg.Go(func() {
					for !stop.Load() {
						for _, path := range []string{"/new", "/untouched", "/read"} {
							w := get(h, path, cookie)
							browsed.Add(1)
							if w.Code != http.StatusOK && w.Code != http.StatusServiceUnavailable {
								badMu.Lock()
								bad = append(bad, fmt.Sprintf("%s: %d %q", path, w.Code, w.Body.String()))
								badMu.Unlock()
							}
						}
					}
				})
			}
			time.Sleep(100 * time.Millisecond)
			if err := srv.Kill(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			stop.Store(true)
			wg.Wait()
			if len(bad) > 0 {
				t.Fatalf("%d of %d answers were neither 200 nor 503: %v", len(bad), browsed.Load(), bad[:min(len(bad), 5)])
			}

			for _, path := range []string{"/counter", "/read", "/new"} {
				if w := get(h, path, cookie); w.Code != http.StatusServiceUnavailable {
					t.Fatalf("%s with the server down: %d %q, want 503", path, w.Code, w.Body.String())
				}
			}
			if w := get(h, "/untouched", cookie); w.Code != http.StatusOK {
				t.Fatalf("/untouched with the server down: %d, want 200", w.Code)
			}
			if _, _, err := store.Load(testCtx(t), rowID(cookie)); !errors.Is(err, sessions.ErrUnavailable) {
				t.Fatalf("Load with the server down: %v, want ErrUnavailable", err)
			}

			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			for attempt := 1; ; attempt++ {
				w := get(h, "/counter", cookie)
				if w.Code == http.StatusOK {
					if w.Body.String() != "3" {
						t.Fatalf("first visit after the restart: %q, want 3", w.Body.String())
					}
					t.Logf("served again at attempt %d", attempt)
					break
				}
				if attempt == recoverWithin {
					t.Fatalf("still %d %q after %d requests with the server back", w.Code, w.Body.String(), attempt)
				}
			}
		})
	}
}

func sep(params string) string {
	if params == "" {
		return "?"
	}
	return "&"
}

// TestMariaDBNewUnreachable: a server that cannot be reached is
// ErrUnavailable from New too.
func TestMariaDBNewUnreachable(t *testing.T) {
	db := openMaria(t, "root@tcp(127.0.0.1:1)/test?timeout=1s")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sqlstore.New(ctx, db, sqlstore.MySQL); !errors.Is(err, sessions.ErrUnavailable) {
		t.Fatalf("New with no server: %v, want ErrUnavailable", err)
	}
}

// TestMariaDBLeastPrivilege: a user that may only SELECT, INSERT, UPDATE
// and DELETE rows of a table made by Schema runs the whole store: New, the
// site, a user's sessions, the cleaner.
func TestMariaDBLeastPrivilege(t *testing.T) {
	admin := openMaria(t, needMaria(t))
	// A database of its own: every user may create tables in "test".
	suffix := strings.TrimPrefix(uniqueTable(t, admin), "sessions_test_")
	database, user, table := "least_"+suffix, "limited_"+suffix, "sessions"
	if _, err := admin.ExecContext(testCtx(t), "CREATE DATABASE "+database); err != nil {
		t.Skipf("cannot make a database on this server: %v", err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + database) })
	for _, stmt := range sqlstore.Schema(sqlstore.MySQL, database+"."+table) {
		if _, err := admin.ExecContext(testCtx(t), stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'secret'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON " + database + "." + table + " TO '" + user + "'@'%'",
	} {
		if _, err := admin.ExecContext(testCtx(t), stmt); err != nil {
			t.Skipf("cannot make a user on this server: %v", err)
		}
	}
	t.Cleanup(func() { admin.Exec("DROP USER '" + user + "'@'%'") })
	server := strings.SplitN(needMaria(t), "@", 2)[1]
	server = server[:strings.LastIndex(server, "/")]
	db := openMaria(t, user+":secret@"+server+"/"+database)
	if _, err := db.ExecContext(testCtx(t), "CREATE TABLE may_not (x int)"); err == nil {
		t.Fatal("the user may create tables; the test proves nothing")
	}
	store, err := sqlstore.New(testCtx(t), db, sqlstore.MySQL, sqlstore.WithTable(table))
	if err != nil {
		t.Fatalf("New as a user that cannot create tables: %v", err)
	}
	defer store.Close()
	h := engine(store)
	cookie := sessionCookie(t, get(h, "/counter", nil))
	if w := get(h, "/counter", cookie); w.Body.String() != "2" {
		t.Fatalf("second visit: %d %q", w.Code, w.Body.String())
	}
	if w := get(h, "/incr", cookie); w.Body.String() != "1" {
		t.Fatalf("increment: %d %q", w.Code, w.Body.String())
	}
	now := time.Now()
	login(t, store, "ann", now, now.Add(time.Hour))
	login(t, store, "ann", now.Add(-time.Hour), now.Add(-time.Second))
	if n, err := sessions.RevokeUserSessions(testCtx(t), store, "ann"); err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions: %d, %v; want 1", n, err)
	}
	if n, err := store.Clean(testCtx(t)); err != nil || n != 1 {
		t.Fatalf("Clean: %d, %v; want the expired session deleted", n, err)
	}
}

// holdRow keeps the row id of table locked in a transaction of its own
// until the returned function ends it.
func holdRow(t *testing.T, db *sql.DB, table, id string) func() {
	t.Helper()
	tx, err := db.BeginTx(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(testCtx(t), "SELECT id FROM "+table+" WHERE id = ? FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback() }
}

// TestMariaDBTimeoutIsUnavailable: a save that waits for a locked row past
// the request's deadline is 503.
func TestMariaDBTimeoutIsUnavailable(t *testing.T) {
	store, db, table := newStoreOn(t, openMaria(t, needMaria(t)), sqlstore.MySQL)
	h := engine(store)
	cookie := sessionCookie(t, get(h, "/counter", nil))
	release := holdRow(t, db, table, rowID(cookie))
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if w := getCtx(ctx, h, "/counter", cookie); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("counter behind a locked row: %d %q, want 503", w.Code, w.Body.String())
	}
}
