// Package sqlite opens a SQLite database for the sessions of
// github.com/ginsessions/sessions/sqlstore, with a pure-Go driver
// (modernc.org/sqlite: no cgo, so the application cross-compiles and
// builds without a C compiler) and the settings the store needs:
//
//	db, err := sqlite.Open("sessions.db")
//	…
//	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
//
// The settings, on every connection:
//
//   - journal_mode=WAL: readers never wait for the writer, and a commit
//     appends to the write-ahead log instead of rewriting pages;
//   - busy_timeout=5000: a write that finds another one in progress (from
//     this process or another that shares the file) waits up to 5 seconds
//     for it, instead of failing at once with "database is locked";
//   - synchronous=NORMAL: a commit reaches the operating system before it
//     returns, so a crash of the process loses nothing acknowledged; only
//     a power loss or a crash of the operating system can undo the last
//     commits before the next checkpoint (the database stays consistent).
//     That is the usual trade for sessions: FULL would wait for the disk
//     at every save. For FULL, open the database yourself with
//     "_pragma=synchronous(FULL)" in the DSN beside the others.
//
// Foreign keys are not turned on: the store has one table and no keys to
// enforce.
package sqlite

import (
	"database/sql"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // the driver "sqlite"
)

// busyTimeout is how long, in milliseconds, a write waits for another.
const busyTimeout = 5000

// Open opens the SQLite database in the file at path, creating the file
// when it is missing, with WAL, a busy timeout of 5 seconds and
// synchronous=NORMAL (see the package documentation), and checks that it
// can be read. Its folder must exist, on a local disk: SQLite's locks do
// not work over network filesystems.
//
// The pool keeps one connection: SQLite runs one write at a time in any
// case, and with one connection the writes of this process queue in Go
// instead of polling the file's lock. The caller closes the database.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	// Connect now, so that a path that cannot be opened is an error here
	// rather than at the first request.
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dsn is path as a SQLite URI with the store's settings, each applied by
// the driver to every new connection. busy_timeout comes first, so that
// switching a new file to WAL waits for another process doing the same.
func dsn(path string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?_pragma=busy_timeout(" + strconv.Itoa(busyTimeout) + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
}
