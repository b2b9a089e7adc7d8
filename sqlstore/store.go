// Package sqlstore keeps sessions of github.com/ginsessions/sessions in a
// SQL database through database/sql: SQLite, the embedded and persistent
// choice for an application that runs on one machine, or MySQL 8 and
// MariaDB 10.6 or later.
//
//	db, err := sqlite.Open("sessions.db") // package sqlstore/sqlite
//	…
//	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
//	…
//	defer store.Close()
//	r.Use(sessions.Middleware(store))
//
// The package imports no driver: the application opens the database with
// the driver it likes, and sqlstore/sqlite opens SQLite with a pure-Go one
// (modernc.org/sqlite, no cgo) and the settings the store needs. It is a
// module of its own, so that an application that keeps sessions elsewhere
// never depends on it.
//
// Each session is one row of one table (see Schema), holding its values as
// one JSON object, and each store operation is one SQL statement: Load one
// SELECT, a save of a changed session one UPDATE that applies the change
// (keys set, deleted and incremented) to the row as it is then, a new
// session one INSERT, Touch and Delete one statement each. Concurrent
// requests that change different keys of one session, or increment the
// same counter, lose nothing, and a session deleted meanwhile is never
// brought back: the save fails with sessions.ErrInterrupted. Delete
// reports whether it found a live row, so that of concurrent deletions of
// one session only one finds it.
//
// A conditional save (sessions.Change.Expect, made by sessions.Update)
// applies the whole change only if the expected keys still hold the
// expected JSON values, compared as values, and otherwise changes nothing
// and fails with an error wrapping sessions.ErrConflict. On SQLite the
// UPDATE checks them itself; when the text differs from the row's, and
// always on MySQL, the values are compared in a transaction that holds
// the row's lock.
//
// It implements sessions.UserStore: a user's sessions are the rows with
// that principal, listed by one statement and deleted by one (on MySQL, a
// short transaction) through an index, so the per-user features (Login,
// UserSessions, revoking, the cap of WithMaxSessionsPerUser) work; the
// sessions deleted are named to UserSelection.Deleted and, after a capped
// login's commit, to Change.Revoked. A login's save under the cap
// (sessions.Change.MaxUserSessions) inserts the row and deletes the user's
// sessions beyond the cap in one transaction, which concurrent logins of
// the user take in turns: SQLite's write lock serialises them, and on
// MySQL InnoDB's row locks, a login that meets another being rolled back
// as a deadlock's victim and run again.
//
// Expired rows are never served and are deleted in the background, in
// small batches; several processes may share a table, each running its own
// cleaner (on MySQL, one of them cleans at a time). The store is a
// sessions.EventSource: the cleaner reports each row it deletes to the
// hooks as sessions.EventExpired before its batch commits, so that an
// expiry is reported at least once.
//
// When the database cannot answer (a MySQL server that is down or
// restarting, a SQLite file locked for longer than its busy timeout, a
// full disk), the store's errors wrap sessions.ErrUnavailable, which the
// middleware answers with 503; requests that never touch their session
// are not affected, and database/sql reconnects when the server is back.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginsessions/sessions"
)

// Store is a sessions.Store that keeps sessions in a table of a SQL
// database. Create it with New; it is safe for concurrent use.
type Store struct {
	// StoreHooks makes the store a sessions.EventSource: the hooks added
	// get EventExpired from the cleaner (see WithCleanupInterval), and see
	// the store calls of the per-user functions called with this store.
	sessions.StoreHooks

	db        *sql.DB
	dialect   Dialect
	table     table
	sql       statements
	prepared  prepared
	logger    *slog.Logger
	loggerSet bool
	interval  time.Duration
	batch     int

	// ActiveSessions' count, kept by the cleaner once asked for.
	counting, counted atomic.Bool
	active            atomic.Int64

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Option configures New.
type Option func(*Store)

// WithTable sets the table that holds the sessions: "name", or
// "schema.name" (a MySQL database, or an attached SQLite database). Each
// part is quoted, so it is taken as written and may hold any character
// but a dot and NUL. The default is "sessions". The schema must exist; the
// table and its indexes are created when missing.
//
// New panics when a part is empty, when there is more than one dot, or
// when a part is longer than 64 bytes, MySQL's limit.
func WithTable(name string) Option {
	return func(s *Store) { s.table = parseTable(name) }
}

// WithCleanupInterval sets how often expired rows are deleted; the default
// is 5 minutes. Each run deletes them in batches of 1000 rows, one short
// transaction each. The cleaning is never off: expired rows are never
// served in any case, and leaving them costs only space.
//
// The hooks added to the store (sessions.EventSource) get an EventExpired
// for each row the cleaner deletes, at least once: up to d after the
// session expired, more while a backlog of over a million rows lasts.
//
// New panics when d is not positive.
func WithCleanupInterval(d time.Duration) Option {
	return func(s *Store) { s.interval = d }
}

// WithLogger sets where the store reports corrupted rows (one Warn record
// each, with the row's id and the reason) and failed cleanups. The default
// is slog.Default() at the time of the report; nil turns the reports off.
func WithLogger(logger *slog.Logger) Option {
	return func(s *Store) { s.logger, s.loggerSet = logger, true }
}

// Defaults of the options and of the cleaner's batches.
const (
	defaultCleanupInterval = 5 * time.Minute
	defaultBatch           = 1000
)

// New returns a Store that keeps sessions in a table of db, a database of
// dialect d, creating the table and its indexes (the statements of Schema)
// when the table is missing, and starts the cleaner of expired rows. When
// the table exists New creates nothing, so a user that may only read and
// write it can use a table made beforehand by a migration. The store never
// closes db: its owner does, after Close.
//
// On SQLite, New checks the connection first: the database must be in WAL
// mode, so that reads do not wait for a write, and have a busy timeout, so
// that a write waits for another one instead of failing at once with
// "database is locked". A connection without them is refused with an error
// that says what to set; sqlite.Open sets both. Set them in the DSN, so
// that every connection of the pool has them.
//
// New returns an error wrapping sessions.ErrUnavailable when the database
// cannot be reached, and panics when db is nil, d is the zero Dialect or an
// option is impossible.
func New(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		panic("sqlstore: New needs a *sql.DB: pass sqlite.Open(path), or sql.Open(\"mysql\", dsn)")
	}
	if d.kind == 0 {
		panic("sqlstore: New needs a Dialect: pass sqlstore.SQLite or sqlstore.MySQL")
	}
	s := &Store{db: db, dialect: d, table: table{name: defaultTable}, interval: defaultCleanupInterval, batch: defaultBatch,
		prepared: prepared{db: db, retryDeadlocks: d.kind == kindMySQL}}
	for _, opt := range opts {
		opt(s)
	}
	if s.interval <= 0 {
		panic(fmt.Sprintf("sqlstore: WithCleanupInterval(%v): the interval must be positive; the default is %v", s.interval, defaultCleanupInterval))
	}
	if err := d.checkConnection(ctx, db); err != nil {
		return nil, err
	}
	if err := s.createTable(ctx); err != nil {
		return nil, err
	}
	s.sql = newStatements(d, s.table)
	cleanCtx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go s.cleanEvery(cleanCtx)
	return s, nil
}

// Close stops the cleaner, waiting for a batch in progress to end, and
// releases the statements the store prepared; call it once the server has
// stopped serving requests. It never closes the database. Closing twice
// does nothing more.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.prepared.close()
	})
	return nil
}

// StoreName implements sessions.StoreNamer: "sqlite" or "mysql", the
// dialect's name (MariaDB included).
func (s *Store) StoreName() string {
	if s.dialect.kind == kindMySQL {
		return "mysql"
	}
	return "sqlite"
}

// log returns the logger reports go to, or nil when they are off.
func (s *Store) log() *slog.Logger {
	if !s.loggerSet {
		return slog.Default()
	}
	return s.logger
}

// Compile-time checks that Store is a sessions.Store with a per-user index,
// and an EventSource.
var (
	_ sessions.Store       = (*Store)(nil)
	_ sessions.UserStore   = (*Store)(nil)
	_ sessions.EventSource = (*Store)(nil)
)
