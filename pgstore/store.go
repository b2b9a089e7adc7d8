// Package pgstore keeps sessions of github.com/ginsessions/sessions in
// PostgreSQL, through a pgx v5 pool:
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	…
//	store, err := pgstore.New(ctx, pool)
//	…
//	defer store.Close()
//	r.Use(sessions.Middleware(store))
//
// It is a module of its own, so that an application that keeps sessions
// elsewhere never depends on pgx.
//
// Each session is one row of one table (see Schema for its columns), and each
// store operation is one SQL statement: Load one SELECT, a save of a
// changed session one UPDATE that applies the change, increments included,
// to the row as it is then, a new session one INSERT, Touch and Delete one
// statement each. Concurrent requests that change different keys of one
// session, or increment the same counter, lose nothing. A conditional
// save (sessions.Update, flashes) is one UPDATE too, whose WHERE compares
// the expected values as jsonb; a retry after a conflict costs a SELECT
// and that UPDATE again.
//
// It implements sessions.UserStore: a user's sessions are the rows with
// that principal, listed and deleted by one statement each through an
// index, so the per-user features (Login, UserSessions, revoking) work.
//
// Expired rows are never served and are deleted in the background, in
// small batches, by one process of all those sharing the table at a time.
//
// When PostgreSQL cannot be reached (connection errors, timeouts, a server
// shutting down or starting), the store's errors wrap
// sessions.ErrUnavailable, which the middleware answers with 503; requests
// that never touch their session are not affected, and the pool reconnects
// when the server is back.
package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a sessions.Store that keeps sessions in a PostgreSQL table.
// Create it with New; it is safe for concurrent use.
type Store struct {
	// StoreHooks makes the store a sessions.EventSource: the hooks added
	// get EventExpired from the cleaner (see WithCleanupInterval), and see
	// the store calls of the per-user functions called with this store.
	sessions.StoreHooks

	pool      *pgxpool.Pool
	table     table
	sql       statements
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

// WithTable sets the table that holds the sessions: "name", in the first
// schema of the search path, or "schema.name". Each part is quoted, so it is
// taken as written, case included, and may hold any character but a dot.
// The default is "sessions". The schema must exist; the table and its
// indexes are created when missing (see Schema).
//
// New panics when a part is empty, when there is more than one dot, or when
// the table's name is longer than 49 bytes (its index names must fit
// PostgreSQL's 63).
func WithTable(name string) Option {
	return func(s *Store) { s.table = parseTable(name) }
}

// WithCleanupInterval sets how often expired rows are deleted; the default
// is 5 minutes. Each run deletes them in batches of 1000 rows, one short
// transaction each, and is skipped by a process while another one runs. The
// cleaning is never off: expired rows are never served in any case, and
// leaving them costs only space.
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

// New returns a Store that keeps sessions in a table of the database that
// pool connects to, creating the table and its indexes when the table is
// missing (the statements of Schema), and starts the cleaner of expired
// rows. New is safe to call from several processes at once: they take turns
// creating the table, under an advisory lock. The store never closes pool:
// its owner does, after Close.
//
// A table made beforehand, by a migration that ran Schema's statements,
// is only read about: a role that may only SELECT, INSERT, UPDATE and
// DELETE on it can use the store. Its two indexes are recognized by their
// columns, whatever their names: one whose first column is expires, and
// one whose first column is principal, complete or partial as Schema's
// (only the rows of logged-in users). When one is missing New creates it,
// which only the table's owner may do.
//
// New returns an error wrapping sessions.ErrUnavailable when PostgreSQL
// cannot be reached ("connecting"). When the table or an index is missing
// and the role may not create it, or the role lacks a privilege the store
// needs, the error names the object, the privilege and the statement that
// fixes it. New panics when an option is impossible.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		panic("pgstore: New needs a pool: pass pgxpool.New(ctx, databaseURL)")
	}
	s := &Store{pool: pool, table: table{name: defaultTable}, interval: defaultCleanupInterval, batch: defaultBatch}
	for _, opt := range opts {
		opt(s)
	}
	if s.interval <= 0 {
		panic(fmt.Sprintf("pgstore: WithCleanupInterval(%v): the interval must be positive; the default is %v", s.interval, defaultCleanupInterval))
	}
	if err := createSchema(ctx, pool, s.table); err != nil {
		return nil, err
	}
	s.sql = newStatements(s.table)
	cleanCtx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go s.cleanEvery(cleanCtx)
	return s, nil
}

// Close stops the cleaner, waiting for a batch in progress to end. It never
// closes the pool. Closing twice does nothing more.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
	})
	return nil
}

// StoreName implements sessions.StoreNamer: "postgres".
func (s *Store) StoreName() string { return "postgres" }

// log returns the logger reports go to, or nil when they are off.
func (s *Store) log() *slog.Logger {
	if !s.loggerSet {
		return slog.Default()
	}
	return s.logger
}

// Compile-time checks that Store is a sessions.Store and an EventSource.
var (
	_ sessions.Store       = (*Store)(nil)
	_ sessions.EventSource = (*Store)(nil)
)
