package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/mariadbtest"
	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
	"github.com/go-sql-driver/mysql"
)

// mariaDSN is the MariaDB server the tests share: one that TestMain
// started, or MARIADB_DSN. It is empty when there is none, and noMaria
// says why.
var (
	mariaDSN string
	noMaria  string
)

func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		os.Exit(runChild(child))
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// The driver logs every connection that a killed server cut; the
	// tests check the store's answers instead.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	var (
		stop func()
		err  error
	)
	mariaDSN, noMaria, stop, err = mariadbtest.ForMain(mariadbtest.EnvDSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// database is one of the databases the tests run on: open returns a
// function that gives each caller a store on a table of its own, the
// database and the table's name.
type database struct {
	name string
	open func(t *testing.T) func(t testing.TB, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string)
}

var databases = []database{
	{"SQLite", func(t *testing.T) func(testing.TB, ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string) {
		return func(t testing.TB, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string) {
			return newSQLiteStore(t, opts...)
		}
	}},
	{"MariaDB", func(t *testing.T) func(testing.TB, ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string) {
		db := openMaria(t, needMaria(t))
		return func(t testing.TB, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string) {
			return newStoreOn(t, db, sqlstore.MySQL, opts...)
		}
	}},
}

// needMaria returns the shared MariaDB server's DSN, or skips t with a
// message that says how to get one. Under CI=true TestMain has already
// failed instead.
func needMaria(t testing.TB) string {
	t.Helper()
	if mariaDSN == "" {
		t.Skip("skipping the MariaDB tests: " + noMaria)
	}
	return mariaDSN
}

// openMaria opens dsn and closes it when t ends.
func openMaria(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sqliteFile opens a new SQLite file in a folder of t's with sqlite.Open.
func sqliteFile(t testing.TB) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// newSQLiteStore returns a store in a new SQLite file.
func newSQLiteStore(t testing.TB, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string) {
	t.Helper()
	db, _ := sqliteFile(t)
	return newStoreOn(t, db, sqlstore.SQLite, opts...)
}

// uniqueTable is a table name no other test uses; the table is dropped when
// t ends, so that a shared server is left as it was.
func uniqueTable(t testing.TB, db *sql.DB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "sessions_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return name
}

// newStoreOn returns a store on a table of its own in db.
func newStoreOn(t testing.TB, db *sql.DB, d sqlstore.Dialect, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB, string) {
	t.Helper()
	table := uniqueTable(t, db)
	store, err := sqlstore.New(testCtx(t), db, d, append([]sqlstore.Option{sqlstore.WithTable(table)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store, db, table
}

// childEnv names the environment variable under which the test binary runs
// as a child process of a test (see runChild).
const childEnv = "SQLSTORE_TEST_CHILD"
