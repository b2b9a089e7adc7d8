package pgstore_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// indexes lists the indexes of the table schema.name.
func indexes(t *testing.T, pool *pgxpool.Pool, schema, name string) []string {
	t.Helper()
	rows, err := pool.Query(testCtx(t), `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`, schema, name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestNewConcurrently: processes that start at once on a new table all
// succeed, and the table gets its indexes once.
func TestNewConcurrently(t *testing.T) {
	pool := newPool(t, needServer(t), nil)
	table := uniqueTable(t, pool)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A pool each, as separate processes have.
			store, err := pgstore.New(testCtx(t), newPool(t, needServer(t), nil), pgstore.WithTable(table))
			if err == nil {
				store.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("New %d: %v", i, err)
		}
	}
	want := []string{table + "_expires_idx", table + "_pkey", table + "_principal_idx"}
	if got := indexes(t, pool, "public", table); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("indexes = %v, want %v", got, want)
	}
}

// TestTableNames: a schema-qualified name and a name that needs quoting
// both work, taken as written.
func TestTableNames(t *testing.T) {
	pool := newPool(t, needServer(t), nil)
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "Sessions Schema " + hex.EncodeToString(b[:])
	if _, err := pool.Exec(testCtx(t), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Exec(testCtx(t), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	for _, name := range []string{`sessions`, `Odd "name"; DROP TABLE x --`} {
		t.Run(name, func(t *testing.T) {
			store, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(schema+"."+name))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			id := created(t, store, map[string]string{"a": "1"})
			if got := loaded(t, store, id); got["a"] != "1" {
				t.Fatalf("values = %v", got)
			}
			if got := indexes(t, pool, schema, name); len(got) != 3 {
				t.Fatalf("indexes of %q.%q = %v, want 3", schema, name, got)
			}
		})
	}
}

// TestImpossibleOptionsPanic: each impossible setting panics at New with a
// message that says what is wrong.
func TestImpossibleOptionsPanic(t *testing.T) {
	pool := newPool(t, needServer(t), nil)
	tests := []struct {
		name string
		pool *pgxpool.Pool
		opt  pgstore.Option
		want string
	}{
		{"nil pool", nil, pgstore.WithTable("sessions"), "needs a pool"},
		{"empty table", pool, pgstore.WithTable(""), "empty"},
		{"empty schema", pool, pgstore.WithTable(".sessions"), "empty"},
		{"two dots", pool, pgstore.WithTable("a.b.c"), "at most one dot"},
		{"long name", pool, pgstore.WithTable(strings.Repeat("s", 50)), "at most 49 bytes"},
		{"zero interval", pool, pgstore.WithCleanupInterval(0), "must be positive"},
		{"negative interval", pool, pgstore.WithCleanupInterval(-time.Second), "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %q, want one saying %q", msg, tt.want)
				}
			}()
			store, _ := pgstore.New(testCtx(t), tt.pool, tt.opt)
			if store != nil {
				store.Close()
			}
		})
	}
}

// TestNewWithoutCreatePrivilege: a role that may use the table but not
// create tables (the table made by a migration) can start the store.
func TestNewWithoutCreatePrivilege(t *testing.T) {
	_, admin, table := newStore(t)
	role := "pgstore_user_" + strings.TrimPrefix(table, "sessions_test_")
	if _, err := admin.Exec(testCtx(t), "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Skipf("cannot create a role on this server: %v", err)
	}
	t.Cleanup(func() { admin.Exec(testCtx(t), "DROP OWNED BY "+role+"; DROP ROLE "+role) })
	if _, err := admin.Exec(testCtx(t), "GRANT SELECT, INSERT, UPDATE, DELETE ON "+pgx.Identifier{table}.Sanitize()+" TO "+role); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(needServer(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User = role
	pool, err := pgxpool.NewWithConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(testCtx(t), "CREATE TABLE pgstore_may_not (x int)"); err == nil {
		t.Fatal("the role may create tables; the test proves nothing")
	}
	store, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(table))
	if err != nil {
		t.Fatalf("New as a role that cannot create tables: %v", err)
	}
	defer store.Close()
	id := created(t, store, map[string]string{"a": "1"})
	if got := loaded(t, store, id); got["a"] != "1" {
		t.Fatalf("values = %v", got)
	}
}
