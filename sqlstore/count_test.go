package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
)

// countingConnector opens connections of a driver that count the
// statements sent through them, however database/sql sends them: directly,
// or prepared first when the driver asks for that.
type countingConnector struct {
	dsn string
	drv driver.Driver
	n   *atomic.Int64
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return countingConn{conn, c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.n.Add(1)
	}
	return res, err
}

func (c countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.n.Add(1)
	}
	return rows, err
}

func (c countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		stmt driver.Stmt
		err  error
	)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		stmt, err = p.PrepareContext(ctx, query)
	} else {
		stmt, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return countingStmt{stmt, c.n}, nil
}

// CheckNamedValue lets the driver convert arguments as it would unwrapped.
func (c countingConn) CheckNamedValue(v *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// countingStmt counts each run of a prepared statement as one statement.
type countingStmt struct {
	driver.Stmt
	n *atomic.Int64
}

func (s countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// countingDB opens dsn with the driver registered as name, counting the
// statements in n.
func countingDB(t testing.TB, name, dsn string) (*sql.DB, *atomic.Int64) {
	t.Helper()
	probe, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	drv := probe.Driver()
	probe.Close()
	n := &atomic.Int64{}
	db := sql.OpenDB(countingConnector{dsn: dsn, drv: drv, n: n})
	t.Cleanup(func() { db.Close() })
	return db, n
}

// countedStore returns a store on db of the named database whose
// statements are counted.
func countedStore(t *testing.T, database string) (*sqlstore.Store, *atomic.Int64) {
	t.Helper()
	if database == "SQLite" {
		db, n := countingDB(t, "sqlite", "file:"+filepath.Join(t.TempDir(), "s.db")+
			"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
		store, _, _ := newStoreOn(t, db, sqlstore.SQLite)
		return store, n
	}
	db, n := countingDB(t, "mysql", needMaria(t))
	store, _, _ := newStoreOn(t, db, sqlstore.MySQL)
	return store, n
}

// TestStatementsPerRequest counts the statements each request costs
// through gin: none for a request that never touches its session, one
// SELECT to read, a SELECT and an UPDATE for the counter and for an
// increment, one INSERT for a new session, and with an idle timeout a
// SELECT and a touch to read.
func TestStatementsPerRequest(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		opts       []sessions.Option
		withCookie bool
		statements int64
	}{
		{"untouched", "/untouched", nil, true, 0},
		{"read", "/read", nil, true, 1},
		{"counter", "/counter", nil, true, 2},
		{"increment", "/incr", nil, true, 2},
		{"new", "/new", nil, false, 1},
		{"read with an idle timeout", "/read", []sessions.Option{sessions.WithIdleTimeout(time.Hour)}, true, 2},
	}
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					store, counter := countedStore(t, db.name)
					h := engine(store, tt.opts...)
					for i := range 3 {
						var cookie *http.Cookie
						if tt.withCookie {
							cookie = sessionCookie(t, get(h, "/new", nil))
						}
						before := counter.Load()
						w := get(h, tt.path, cookie)
						if w.Code != http.StatusOK {
							t.Fatalf("request %d: %d %q", i+1, w.Code, w.Body.String())
						}
						if got := counter.Load() - before; got != tt.statements {
							t.Fatalf("request %d: %d statements, want %d", i+1, got, tt.statements)
						}
					}
				})
			}
		})
	}
}
