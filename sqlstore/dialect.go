package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Dialect is the SQL of one database: SQLite, or MySQL (MySQL 8 and
// MariaDB 10.6 or later). The zero Dialect is none; New panics with it.
type Dialect struct {
	kind kind
}

type kind int

const (
	kindSQLite kind = iota + 1
	kindMySQL
)

// The dialects the store speaks.
var (
	// SQLite is SQLite 3.38 or later, with its JSON functions, as
	// modernc.org/sqlite and github.com/mattn/go-sqlite3 build it. The
	// database must be in WAL mode with a busy timeout: see New.
	SQLite = Dialect{kindSQLite}
	// MySQL is MySQL 8.0 or later and MariaDB 10.6 or later, through
	// github.com/go-sql-driver/mysql with any DSN (parseTime or not: the
	// table keeps its times as integers).
	MySQL = Dialect{kindMySQL}
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d.kind {
	case kindSQLite:
		return "SQLite"
	case kindMySQL:
		return "MySQL"
	}
	return "no dialect"
}

// quote returns name as a quoted identifier: SQLite doubles the double
// quotes in it, MySQL the backquotes.
func (d Dialect) quote(name string) string {
	if d.kind == kindMySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// checkConnection makes sure that db answers and, on SQLite, that its
// connection has the settings the store relies on.
func (d Dialect) checkConnection(ctx context.Context, db *sql.DB) error {
	if d.kind != kindSQLite {
		if err := db.PingContext(ctx); err != nil {
			return d.storeError("connecting", err)
		}
		return nil
	}
	// One connection answers both questions: the pragmas are a
	// connection's settings, except journal_mode, which is the file's.
	conn, err := db.Conn(ctx)
	if err != nil {
		return d.storeError("connecting", err)
	}
	defer conn.Close()
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return d.storeError("reading journal_mode", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlstore: the SQLite database is in journal mode %q, and the store needs WAL, so that reading a session never waits for a write: "+
			"open it with sqlite.Open, or add _pragma=journal_mode(WAL) to a modernc.org/sqlite DSN (_journal_mode=WAL for mattn/go-sqlite3); "+
			"an in-memory database cannot be in WAL mode", mode)
	}
	var timeout int
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
		return d.storeError("reading busy_timeout", err)
	}
	if timeout <= 0 {
		return fmt.Errorf("sqlstore: the SQLite connection has no busy timeout (busy_timeout = %d), so a write that meets another one fails at once with \"database is locked\": "+
			"open the database with sqlite.Open, or add _pragma=busy_timeout(5000) to a modernc.org/sqlite DSN (_busy_timeout=5000 for mattn/go-sqlite3), "+
			"so that every connection of the pool waits up to 5 seconds", timeout)
	}
	return nil
}
