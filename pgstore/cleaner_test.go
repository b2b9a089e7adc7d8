package pgstore_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
)

// insertRows adds n rows to table that expire at expires.
func insertRows(t *testing.T, pool *pgxpool.Pool, table string, n int, expires time.Time) {
	t.Helper()
	_, err := pool.Exec(testCtx(t), `INSERT INTO `+pgx.Identifier{table}.Sanitize()+`
		(id, data, uuid, created, saved, last_seen, expires, expiry_ns)
		SELECT md5(random()::text || i), '{}', 'u', now(), now(), now(), $2, 0 FROM generate_series(1, $1) AS i`, n, expires)
	if err != nil {
		t.Fatal(err)
	}
}

// countRows counts the rows of table that expire before (expired) or after
// now.
func countRows(t *testing.T, pool *pgxpool.Pool, table string) (expired, live int) {
	t.Helper()
	err := pool.QueryRow(testCtx(t), `SELECT count(*) FILTER (WHERE expires <= now()), count(*) FILTER (WHERE expires > now())
		FROM `+pgx.Identifier{table}.Sanitize()).Scan(&expired, &live)
	if err != nil {
		t.Fatal(err)
	}
	return expired, live
}

// TestCleanInBatches: one run deletes every expired row, in batches, and
// only those.
func TestCleanInBatches(t *testing.T) {
	store, pool, table := newStore(t, pgstore.WithBatch(10))
	insertRows(t, pool, table, 35, time.Now().Add(-time.Minute))
	insertRows(t, pool, table, 5, time.Now().Add(time.Hour))
	deleted, err := store.Clean(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if expired, live := countRows(t, pool, table); deleted != 35 || expired != 0 || live != 5 {
		t.Fatalf("deleted %d; left %d expired and %d live rows, want 35 deleted, 0 and 5 left", deleted, expired, live)
	}
}

// TestCleanOneAtATime: while another process holds the table's cleaning
// lock, a run deletes nothing and does not wait; afterwards it cleans.
func TestCleanOneAtATime(t *testing.T) {
	store, pool, table := newStore(t)
	insertRows(t, pool, table, 20, time.Now().Add(-time.Minute))

	tx := holding(t, pool, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, pgstore.CleanerLockKey(table))
	if deleted, err := store.Clean(testCtx(t)); err != nil || deleted != 0 {
		t.Fatalf("Clean while another holds the lock: deleted %d, %v; want 0, nil", deleted, err)
	}
	if expired, _ := countRows(t, pool, table); expired != 20 {
		t.Fatalf("%d expired rows left, want 20", expired)
	}
	if err := tx.Rollback(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if deleted, err := store.Clean(testCtx(t)); err != nil || deleted != 20 {
		t.Fatalf("Clean after the lock is released: deleted %d, %v; want 20, nil", deleted, err)
	}
}

// TestCleanSkipsLockedRows: an expired row that a request holds is left for
// a later run rather than waited for.
func TestCleanSkipsLockedRows(t *testing.T) {
	store, pool, table := newStore(t)
	insertRows(t, pool, table, 3, time.Now().Add(-time.Minute))
	holding(t, pool, `SELECT FROM `+pgx.Identifier{table}.Sanitize()+` ORDER BY id LIMIT 1 FOR UPDATE`)
	if deleted, err := store.Clean(testCtx(t)); err != nil || deleted != 2 {
		t.Fatalf("Clean with one row held: deleted %d, %v; want 2, nil", deleted, err)
	}
}

// TestCleanerRunsInTheBackground: with a short interval, expired rows go
// away by themselves.
func TestCleanerRunsInTheBackground(t *testing.T) {
	_, pool, table := newStore(t, pgstore.WithCleanupInterval(20*time.Millisecond))
	insertRows(t, pool, table, 50, time.Now().Add(-time.Minute))
	insertRows(t, pool, table, 2, time.Now().Add(time.Hour))
	deadline := time.Now().Add(20 * time.Second)
	for {
		expired, live := countRows(t, pool, table)
		if live != 2 {
			t.Fatalf("%d live rows, want 2", live)
		}
		if expired == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d expired rows still there", expired)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseStopsTheCleaner: Close returns once the cleaner has stopped,
// closing twice is harmless, and the pool stays open.
func TestCloseStopsTheCleaner(t *testing.T) {
	store, pool, _ := newStore(t, pgstore.WithCleanupInterval(time.Millisecond))
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(testCtx(t)); err != nil {
		t.Fatalf("the pool after Close: %v", err)
	}
}

// syncBuffer is a bytes.Buffer that the cleaner's goroutine may write to
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCleanerFailureIsLogged: a run that fails (here the table is gone) is
// reported, and the cleaner keeps running.
func TestCleanerFailureIsLogged(t *testing.T) {
	var logs syncBuffer
	_, pool, table := newStore(t, pgstore.WithCleanupInterval(20*time.Millisecond),
		pgstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := pool.Exec(testCtx(t), "DROP TABLE "+pgx.Identifier{table}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(logs.String(), "deleting expired sessions from PostgreSQL failed") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no two reports of a failed cleanup; log: %q", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseLeavesNoGoroutine: once the store and its pool are closed,
// nothing of either keeps running.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	admin := newPool(t, needServer(t), nil) // drops the table at the end
	table := uniqueTable(t, admin)
	if err := admin.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	pool, err := pgxpool.New(testCtx(t), needServer(t))
	if err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(table), pgstore.WithCleanupInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	created(t, store, map[string]string{"a": "1"})
	time.Sleep(5 * time.Millisecond) // the cleaner runs meanwhile
	store.Close()
	pool.Close()
}
