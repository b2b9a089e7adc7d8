//go:build sqlite

package sessions_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// The lifecycle and users model tests on the SQLite store. The store lives
// in a module of its own, which the root module does not require: these
// tests build with the sqlite tag in the workspace sqlstore/example.work
// (make test runs them).

// sqliteModelStore gives each scenario the table of one SQLite file,
// emptied after it.
type sqliteModelStore struct {
	db    *sql.DB
	store *sqlstore.Store
}

func openSQLiteModelStore(t *testing.T) *sqliteModelStore {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(context.Background(), db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &sqliteModelStore{db: db, store: store}
}

func (m *sqliteModelStore) fresh() (sessions.Store, func() int, func()) {
	count := func() int {
		var n int
		if err := m.db.QueryRow("SELECT count(*) FROM sessions").Scan(&n); err != nil {
			return -1
		}
		return n
	}
	return m.store, count, func() { _, _ = m.db.Exec("DELETE FROM sessions") }
}

// TestLifecycleModelSQLite runs TestLifecycleModel's scenarios on SQLite.
func TestLifecycleModelSQLite(t *testing.T) {
	cases := envInt(t, "MODEL_CASES", 2000)
	seed := uint64(envInt(t, "MODEL_SEED", int(time.Now().UnixNano()%1_000_000_000)))
	t.Logf("seeds %d to %d", seed, seed+uint64(cases)-1)
	st := openSQLiteModelStore(t)
	for i := range uint64(cases) {
		if msg := runScenario(st, seed+i); msg != "" {
			t.Fatalf("seed %d: %s\nreplay: MODEL_SEED=%d MODEL_CASES=1 GOWORK=$PWD/sqlstore/example.work go test -tags sqlite -run 'TestLifecycleModelSQLite$' .",
				seed+i, msg, seed+i)
		}
	}
}

// TestUsersModelSQLite runs the users model on SQLite, a file per run. The
// store keeps real time, so no time passes in it, as with Redis.
func TestUsersModelSQLite(t *testing.T) {
	runUsersModel(t, 4, 100, func(t *testing.T) usersModelStore {
		return usersModelStore{store: openSQLiteModelStore(t).store, clk: &clock{now: time.Now().Truncate(time.Millisecond)}}
	})
}
