package sqlstore_test

import (
	"bytes"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
	"github.com/ginsessions/sessions/sqlstore"
	"go.uber.org/goleak"
)

// insertRows saves n sessions that expire at expires.
func insertRows(t testing.TB, store sessions.Store, n int, expires time.Time) {
	t.Helper()
	for range n {
		now := time.Now()
		ch := sessions.Change{New: true, UUID: "u", Created: now, Saved: now, Expires: expires}
		if err := store.Save(testCtx(t), sessionstest.NewID(), ch); err != nil {
			t.Fatal(err)
		}
	}
}

// countRows counts the expired and the live rows of table.
func countRows(t testing.TB, db *sql.DB, table string) (expired, live int) {
	t.Helper()
	now := time.Now().UnixMicro()
	err := db.QueryRowContext(testCtx(t), "SELECT coalesce(sum(CASE WHEN expires <= ? THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN expires > ? THEN 1 ELSE 0 END), 0) FROM "+table,
		now, now).Scan(&expired, &live)
	if err != nil {
		t.Fatal(err)
	}
	return expired, live
}

// TestCleanInBatches: one run deletes every expired row, batch after
// batch, and no live one.
func TestCleanInBatches(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, sqldb, table := db.open(t)(t, sqlstore.WithBatch(7))
			insertRows(t, store, 30, time.Now().Add(-time.Minute))
			insertRows(t, store, 5, time.Now().Add(time.Hour))
			n, err := store.Clean(testCtx(t))
			if err != nil || n != 30 {
				t.Fatalf("Clean: %d, %v; want 30", n, err)
			}
			if expired, live := countRows(t, sqldb, table); expired != 0 || live != 5 {
				t.Fatalf("after cleaning: %d expired, %d live rows; want 0 and 5", expired, live)
			}
		})
	}
}

// TestCleanersAtOnce: stores of several processes cleaning one table at
// once delete every expired row between them, each once, and fail none.
func TestCleanersAtOnce(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, sqldb, table := db.open(t)(t, sqlstore.WithBatch(5))
			insertRows(t, store, 60, time.Now().Add(-time.Minute))
			const cleaners = 4
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				total int64
			)
			for range cleaners {
				other, err := sqlstore.New(testCtx(t), sqldb, dialectOf(db.name), sqlstore.WithTable(table), sqlstore.WithBatch(5))
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				wg.Go(func() {
					n, err := other.Clean(testCtx(t))
					if err != nil {
						t.Errorf("Clean: %v", err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				})
			}
			wg.Wait()
			if expired, _ := countRows(t, sqldb, table); expired != 0 || total != 60 {
				t.Fatalf("%d expired rows left, %d deleted in all; want 0 and 60", expired, total)
			}
		})
	}
}

// TestCleanerRunsInTheBackground: with a short interval, expired rows go
// without anyone calling Clean.
func TestCleanerRunsInTheBackground(t *testing.T) {
	store, db, table := newSQLiteStore(t, sqlstore.WithCleanupInterval(20*time.Millisecond))
	insertRows(t, store, 3, time.Now().Add(-time.Minute))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if expired, _ := countRows(t, db, table); expired == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired rows are still there")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that the cleaner's goroutine may write to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestCleanerFailureIsLogged: a cleanup that fails (the database closed
// under the store) is reported, and retried at the next interval.
func TestCleanerFailureIsLogged(t *testing.T) {
	var logs syncBuffer
	db, _ := sqliteFile(t)
	store, err := sqlstore.New(testCtx(t), db, sqlstore.SQLite, sqlstore.WithCleanupInterval(10*time.Millisecond),
		sqlstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "deleting expired sessions failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no report in %q", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseLeavesNoGoroutine: Close stops the cleaner and waits for it;
// closing twice is harmless.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	db, _ := sqliteFile(t)
	before := goleak.IgnoreCurrent()
	store, err := sqlstore.New(testCtx(t), db, sqlstore.SQLite, sqlstore.WithCleanupInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	store.Close()
	store.Close()
	goleak.VerifyNone(t, before)
}
