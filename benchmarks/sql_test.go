package benchmarks

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/sqlite3store"
	gcsgorm "github.com/gin-contrib/sessions/gorm"
	"github.com/gin-gonic/gin"
	mysqldriver "github.com/go-sql-driver/mysql"
	_ "github.com/mattn/go-sqlite3" // scs's and GORM's SQLite driver (cgo), "sqlite3"
	gormmysql "gorm.io/driver/mysql"
	gormsqlite "gorm.io/driver/sqlite"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	"github.com/ginsessions/sessions/internal/mariadbtest"
	"github.com/ginsessions/sessions/sqlstore"
	_ "github.com/ginsessions/sessions/sqlstore/sqlite" // modernc.org/sqlite, "sqlite"
)

// The SQL systems: each library on SQLite and on MariaDB, through
// database/sql connections that count the statements they send.
//
// SQLite: a new file per engine, in a temporary folder, with the same
// settings for every system (WAL, busy_timeout=5000, synchronous=NORMAL)
// and one connection, as sqlite.Open sets them; ours on modernc.org/sqlite
// (pure Go), the peers on mattn/go-sqlite3 (cgo), the driver their
// documentation uses.
//
// MariaDB: a throwaway server, a database per system, the same DSN for
// every system (parseTime=true, which GORM needs; interpolateParams=true,
// so that a statement is one round trip) and pool (10 connections).
func init() {
	for _, database := range []string{"sqlite", "mariadb"} {
		for _, lib := range []struct {
			name  string
			mount func(tb testing.TB, r *gin.Engine, env *redisEnv, sys, database string) handlers
		}{{"gincontrib", mountGinContribSQL}, {"scs", mountSCSSQL}, {"ours", mountOursSQL}} {
			name := lib.name + "-" + database
			ourSystems = append(ourSystems, system{name: name, sql: database, mount: func(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
				return lib.mount(tb, r, env, name, database)
			}})
		}
	}
	// Ours: one SELECT to load, one UPDATE to save, one INSERT for a new
	// session. scs loads eagerly, so a cookie costs a SELECT even when the
	// handler never looks at the session, and it writes the whole session
	// back. GORM's store reads the row when the cookie arrives and again
	// when it saves, and wraps each write in a transaction (BEGIN and
	// COMMIT count as statements, as they do for PostgreSQL).
	for _, db := range []string{"sqlite", "mariadb"} {
		pgStatements["ours-"+db] = map[string]int64{"untouched": 0, "untouched-cookie": 0, "new": 1, "counter": 2, "read": 1}
		pgStatements["scs-"+db] = map[string]int64{"untouched": 0, "untouched-cookie": 1, "new": 1, "counter": 2, "read": 1}
		pgStatements["gincontrib-"+db] = map[string]int64{"untouched": 0, "untouched-cookie": 0, "new": 3, "counter": 5, "read": 1}
	}
}

// mariaDSN is the MariaDB server of the MariaDB systems: BENCH_MARIADB_DSN
// (or MARIADB_DSN), or one started by TestMain; "" when there is none, and
// noMaria then says why.
var (
	mariaDSN string
	noMaria  string
)

// startMariaDB finds or starts the server for TestMain and returns what
// stops it.
func startMariaDB() (stop func(), err error) {
	mariaDSN, noMaria, stop, err = mariadbtest.ForMain("BENCH_MARIADB_DSN", mariadbtest.EnvDSN)
	return stop, err
}

// newSQLEnv is the environment of a SQL system: a statement counter.
func newSQLEnv(tb testing.TB, database string) *redisEnv {
	if database == "mariadb" && mariaDSN == "" {
		tb.Skip("skipping the MariaDB systems: " + noMaria)
	}
	return &redisEnv{pg: &pgWire{}}
}

// The SQLite settings every SQLite system gets, in each driver's DSN.
const (
	moderncSettings = "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	mattnSettings   = "?_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL"
)

// mariaDatabases are the databases made so far, one per system.
var mariaDatabases sync.Map

// sqlDB opens a counted database for the system: a new SQLite file, or
// the system's database on the MariaDB server.
func sqlDB(tb testing.TB, sys string, env *redisEnv, database string) *sql.DB {
	tb.Helper()
	var (
		name, dsn string
		pool      int
	)
	switch database {
	case "sqlite":
		name, pool = "sqlite3", 1
		path := filepath.Join(tb.TempDir(), "sessions.db")
		dsn = "file:" + path + mattnSettings
		if strings.HasPrefix(sys, "ours-") {
			name, dsn = "sqlite", "file:"+path+moderncSettings
		}
	case "mariadb":
		name, pool = "mysql", pgPoolSize
		cfg, err := mysqldriver.ParseDSN(mariaDSN)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.DBName = strings.ReplaceAll(strings.TrimSuffix(sys, "-mariadb"), "-", "_") + "_bench"
		if _, made := mariaDatabases.LoadOrStore(cfg.DBName, true); !made {
			admin, err := sql.Open("mysql", mariaDSN)
			if err != nil {
				tb.Fatal(err)
			}
			_, err = admin.Exec("CREATE DATABASE IF NOT EXISTS " + cfg.DBName)
			admin.Close()
			if err != nil {
				tb.Fatal(err)
			}
		}
		cfg.ParseTime, cfg.InterpolateParams = true, true
		dsn = cfg.FormatDSN()
	}
	probe, err := sql.Open(name, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	drv := probe.Driver()
	probe.Close()
	db := sql.OpenDB(countingConnector{dsn: dsn, drv: drv, wire: env.pg})
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	tb.Cleanup(func() { db.Close() })
	return db
}

func mountOursSQL(tb testing.TB, r *gin.Engine, env *redisEnv, sys, database string) handlers {
	dialect := sqlstore.SQLite
	if database == "mariadb" {
		dialect = sqlstore.MySQL
	}
	store, err := sqlstore.New(context.Background(), sqlDB(tb, sys, env, database), dialect, sqlstore.WithTable("ginsessions"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return mountOurs(r, store)
}

// mountSCSSQL is scs's sqlite3store or mysqlstore on a table made as its
// README says; its cleaner is off, as the memory store's is.
func mountSCSSQL(tb testing.TB, r *gin.Engine, env *redisEnv, sys, database string) handlers {
	db := sqlDB(tb, sys, env, database)
	if database == "mariadb" {
		for _, stmt := range []string{
			"CREATE TABLE IF NOT EXISTS sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)",
			"CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)",
		} {
			if _, err := db.Exec(stmt); err != nil {
				tb.Fatal(err)
			}
		}
		return mountSCS(r, mysqlstore.NewWithCleanupInterval(db, 0))
	}
	for _, stmt := range []string{
		"CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)",
		"CREATE INDEX sessions_expiry_idx ON sessions(expiry)",
	} {
		if _, err := db.Exec(stmt); err != nil {
			tb.Fatal(err)
		}
	}
	return mountSCS(r, sqlite3store.NewWithCleanupInterval(db, 0))
}

// mountGinContribSQL is gin-contrib/sessions' gorm store (wader/gormstore
// on GORM), which makes its table itself; its cleaner is off.
func mountGinContribSQL(tb testing.TB, r *gin.Engine, env *redisEnv, sys, database string) handlers {
	db := sqlDB(tb, sys, env, database)
	var dialector gorm.Dialector = &gormsqlite.Dialector{Conn: db}
	if database == "mariadb" {
		dialector = gormmysql.New(gormmysql.Config{Conn: db})
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{Logger: gormlogger.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	return mountGinContrib(r, gcsgorm.NewStore(gdb, false, []byte("benchmark-secret")))
}

// countingConnector opens connections of a driver that count, in wire,
// the statements sent through them and the calls that reach the database
// (trips): a statement sent directly is one of each; preparing one is a
// trip, and each run of it one of each; BEGIN and COMMIT (or ROLLBACK) are
// one of each, as the PostgreSQL counter sees them.
type countingConnector struct {
	dsn  string
	drv  driver.Driver
	wire *pgWire
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, wire: c.wire}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	wire *pgWire
}

func (c *countingConn) count(statements, trips int64) {
	c.wire.statements.Add(statements)
	c.wire.trips.Add(trips)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.count(1, 1)
	}
	return res, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		c.count(1, 1)
	}
	return rows, err
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
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
	// Preparing is a trip; each run is a statement and a trip.
	c.count(0, 1)
	return countingStmt{stmt, c}, nil
}

// CheckNamedValue lets the driver convert arguments as it would unwrapped.
func (c *countingConn) CheckNamedValue(v *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// countingStmt counts each run of a prepared statement.
type countingStmt struct {
	driver.Stmt
	conn *countingConn
}

func (s countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.conn.count(1, 1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.conn.count(1, 1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, fmt.Errorf("benchmarks: %T cannot begin with options", c.Conn)
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.count(1, 1)
	return countingTx{tx, c}, nil
}

// ResetSession and IsValid pass database/sql's checks of a pooled
// connection on to the driver, which drops a connection a server cut.
func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type countingTx struct {
	driver.Tx
	conn *countingConn
}

func (t countingTx) Commit() error {
	t.conn.count(1, 1)
	return t.Tx.Commit()
}

func (t countingTx) Rollback() error {
	t.conn.count(1, 1)
	return t.Tx.Rollback()
}
