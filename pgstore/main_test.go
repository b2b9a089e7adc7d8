package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/pgtest"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// serverURL is the PostgreSQL server the tests share: PG_URL, or one that
// TestMain started. It is empty when there is none, and noServer says why.
var (
	serverURL string
	noServer  string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var (
		stop func()
		err  error
	)
	serverURL, noServer, stop, err = pgtest.ForMain(pgtest.EnvURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

// needServer returns the shared server's URL, or skips t with a message that
// says how to get one. Under CI=true TestMain has already failed instead.
func needServer(t testing.TB) string {
	t.Helper()
	if serverURL == "" {
		t.Skip("skipping the PostgreSQL tests: " + noServer)
	}
	return serverURL
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newPool connects to url, with tracer when it is not nil, and closes the
// pool when t ends.
func newPool(t testing.TB, url string, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// uniqueTable is a table name no other test uses; the table is dropped when
// t ends, so that a shared server (PG_URL) is left as it was.
func uniqueTable(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "sessions_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a store on a table of its own in the shared server, and
// the pool and table it uses.
func newStore(t testing.TB, opts ...pgstore.Option) (*pgstore.Store, *pgxpool.Pool, string) {
	t.Helper()
	pool := newPool(t, needServer(t), nil)
	return newStoreOn(t, pool, opts...)
}

// newStoreOn returns a store on a table of its own through pool.
func newStoreOn(t testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) (*pgstore.Store, *pgxpool.Pool, string) {
	t.Helper()
	table := uniqueTable(t, pool)
	store, err := pgstore.New(testCtx(t), pool, append([]pgstore.Option{pgstore.WithTable(table)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store, pool, table
}

// holding runs sql in a transaction that it leaves open, holding whatever
// locks sql took, and returns the transaction; it is rolled back when t ends
// unless the test ends it first.
func holding(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatal(err)
	}
	return tx
}
