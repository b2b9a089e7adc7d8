package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ginsessions/sessions"
)

// micros is t as the table keeps it: Unix time in microseconds, exact
// enough for the store's millisecond contract and far beyond any expiry.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the inverse of micros.
func fromMicros(us int64) time.Time { return time.UnixMicro(us) }

// Load implements sessions.Store with one SELECT. A row whose data is not a
// JSON object is reported to the logger and loaded as not found, so that the
// visitor gets a fresh session, as Django does with corrupted data.
func (s *Store) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	var (
		rec  sessions.Record
		data []byte
		t    recordTimes
	)
	err := s.prepared.scanRow(ctx, s.sql.load, []any{id, micros(time.Now())}, append([]any{&data}, t.fields(&rec)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return sessions.Record{}, false, nil
	}
	if err != nil {
		return sessions.Record{}, false, s.dialect.storeError("load", err)
	}
	if rec.Values, err = decodeValues(data); err != nil {
		s.reportCorrupt(ctx, id, err)
		return sessions.Record{}, false, nil
	}
	t.set(&rec)
	return rec, true, nil
}

// recordTimes are the integer columns of a record, scanned before they
// become its times.
type recordTimes struct {
	created, saved, lastSeen, expires, expiry int64
}

// fields are where the columns of recordColumns are scanned to; set then
// fills in rec's times.
func (t *recordTimes) fields(rec *sessions.Record) []any {
	return []any{&rec.UUID, &t.created, &t.saved, &t.lastSeen, &t.expires, &t.expiry,
		&rec.Principal, &rec.IP, &rec.UserAgent}
}

func (t *recordTimes) set(rec *sessions.Record) {
	rec.Created, rec.Saved, rec.LastSeen, rec.Expires = fromMicros(t.created), fromMicros(t.saved), fromMicros(t.lastSeen), fromMicros(t.expires)
	rec.Expiry = time.Duration(t.expiry)
}

func (s *Store) reportCorrupt(ctx context.Context, id string, err error) {
	if logger := s.log(); logger != nil {
		logger.WarnContext(ctx, "sessions: corrupted session in the SQL store, loaded as not found",
			"dialect", s.dialect.String(), "table", s.sql.table, "id", id, "error", err)
	}
}

// Save implements sessions.Store with one statement: an INSERT that
// replaces any row under id for a new record, otherwise an UPDATE that
// applies the change to the row as it is (see statements.update). Only
// when the UPDATE changes no row does a second statement read the row, to
// tell a session that is gone (ErrInterrupted) from an increment that does
// not fit (ErrNotInteger) or, for a conditional save, a key that changed
// (ErrConflict).
//
// Two saves take a transaction instead: a login's under
// Change.MaxUserSessions (see insertCapped) and a conditional save whose
// expectations the UPDATE could not check (see conditional).
func (s *Store) Save(ctx context.Context, id string, ch sessions.Change) error {
	if err := checkText(ch); err != nil {
		return err
	}
	if ch.New {
		return s.insert(ctx, id, ch)
	}
	if err := checkJSON(ch.Set); err != nil {
		return err
	}
	if err := checkExpect(ch.Expect); err != nil {
		return err
	}
	if len(ch.Expect) > 0 {
		return s.conditional(ctx, id, ch)
	}
	// A second try covers an increment whose value another request
	// fixed between the update and the reading of why it failed.
	for try := 0; ; try++ {
		now := micros(time.Now())
		query, args := s.sql.update(id, ch, now)
		res, err := s.prepared.exec(ctx, query, args...)
		if err != nil {
			return s.dialect.storeError("save", err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 {
			return nil
		}
		done, err := s.whyUnchanged(ctx, id, ch, now)
		if done || err != nil || try == 1 {
			return err
		}
	}
}

// conditional saves a change with expectations. On SQLite the UPDATE
// checks them first, comparing JSON text as the database writes it, which
// is what Load returned: one statement, as for any save. When it changes
// no row and the expectations still hold when compared as values (the
// text was spelled otherwise, or the key changed twice meanwhile), and
// always on MySQL, whose JSON text MariaDB and MySQL 8 write each their
// own way, the change is saved by lockedConditional.
func (s *Store) conditional(ctx context.Context, id string, ch sessions.Change) error {
	if s.dialect.kind == kindSQLite {
		now := micros(time.Now())
		query, args := s.sql.update(id, ch, now)
		res, err := s.prepared.exec(ctx, query, args...)
		if err != nil {
			return s.dialect.storeError("save", err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 {
			return nil
		}
		if done, err := s.whyUnchanged(ctx, id, ch, now); done || err != nil {
			return err
		}
	}
	for try := 1; ; try++ {
		err := s.lockedConditional(ctx, id, ch)
		if err == nil || !againAfterDeadlock(ctx, try, err) {
			return err
		}
	}
}

// whyUnchanged tells why an update changed no row: the row is gone,
// expired or corrupted (ErrInterrupted), an expected key changed
// (ErrConflict), or an increment does not fit (ErrNotInteger). done is true
// with a nil error when the row is there and nothing was in the way: MySQL
// counts only the rows whose values changed, so a save that repeats what
// the row holds changes none.
func (s *Store) whyUnchanged(ctx context.Context, id string, ch sessions.Change, now int64) (done bool, err error) {
	var data []byte
	err = s.prepared.scanRow(ctx, s.sql.live, []any{id, now}, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return true, errInterrupted
	}
	if err != nil {
		return true, s.dialect.storeError("save", err)
	}
	values, err := decodeValues(data)
	if err != nil {
		return true, errInterrupted
	}
	if !expectationsHold(values, ch.Expect) {
		return true, errConflict
	}
	if bad := badIncrements(values, ch.Incr); len(bad) > 0 {
		return true, errNotInteger(bad)
	}
	if len(ch.Expect) > 0 {
		// The expectations hold as values, but the update's comparison
		// of their text failed, or the key changed twice meanwhile: the
		// caller checks them again under a lock.
		return false, nil
	}
	// Nothing in the way now: either the update was a repetition
	// (MySQL), or another request changed the row meanwhile, and an
	// increment must be tried again.
	return len(ch.Incr) == 0, nil
}

// badIncrements returns the keys of incr that cannot be incremented in
// values.
func badIncrements(values map[string]string, incr map[string]int64) []string {
	var bad []string
	for k, d := range incr {
		v, ok := values[k]
		if !incrementable(v, ok, d) {
			bad = append(bad, k)
		}
	}
	return bad
}

// lockedConditional saves a change with expectations in a transaction:
// the row is locked, read, its expectations checked on its values as Load
// decodes them, compared as JSON values, then the UPDATE applies the
// change. On MySQL SELECT ... FOR UPDATE locks the row; on SQLite a first
// statement that writes takes the database's write lock. Either lock is
// held until the commit, so no other save comes between the check and the
// change.
func (s *Store) lockedConditional(ctx context.Context, id string, ch sessions.Change) error {
	now := micros(time.Now())
	expect := ch.Expect
	ch.Expect = nil // checked below
	query, args := s.sql.update(id, ch, now)
	if err := s.prepared.warm(ctx, s.sql.lock, s.sql.liveLocked, query); err != nil {
		return s.dialect.storeError("save", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.dialect.storeError("save", err)
	}
	defer tx.Rollback()
	if s.sql.lock != "" {
		if _, err := s.prepared.txExec(ctx, tx, s.sql.lock, id); err != nil {
			return s.dialect.storeError("save", err)
		}
	}
	var data []byte
	err = s.prepared.txScanRow(ctx, tx, s.sql.liveLocked, []any{id, now}, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return errInterrupted
	}
	if err != nil {
		return s.dialect.storeError("save", err)
	}
	values, err := decodeValues(data)
	if err != nil {
		return errInterrupted
	}
	if !expectationsHold(values, expect) {
		return errConflict
	}
	if bad := badIncrements(values, ch.Incr); len(bad) > 0 {
		return errNotInteger(bad)
	}
	if _, err := s.prepared.txExec(ctx, tx, query, args...); err != nil {
		return s.dialect.storeError("save", err)
	}
	if err := tx.Commit(); err != nil {
		return s.dialect.storeError("save", err)
	}
	return nil
}

// errInterrupted is Save's answer for a record that is gone.
var errInterrupted = wrapSentinel("sessions: sql save", sessions.ErrInterrupted)

// errConflict is Save's answer for a conditional save whose expectations
// do not hold.
var errConflict = wrapSentinel("sessions: sql save: a key the change expected was changed by a concurrent save", sessions.ErrConflict)

// errNotInteger is Save's answer for increments of the keys bad.
func errNotInteger(bad []string) error {
	slices.Sort(bad)
	return wrapSentinel(fmt.Sprintf("sessions: sql save: incrementing %s: the value is not an integer, or the sum is outside the int64 range",
		quoteAll(bad)), sessions.ErrNotInteger)
}

// insert creates the record, its increments starting from 0.
func (s *Store) insert(ctx context.Context, id string, ch sessions.Change) error {
	data, err := valuesObject(ch.Set, ch.Incr)
	if err != nil {
		return err
	}
	saved := micros(ch.Saved)
	args := []any{id, data, ch.UUID, micros(ch.Created), saved, saved,
		micros(ch.Expires), int64(ch.Expiry), ch.Principal, storableText(ch.IP), storableText(ch.UserAgent)}
	if ch.MaxUserSessions > 0 && ch.Principal != "" {
		return s.insertCapped(ctx, ch, args)
	}
	if _, err := s.prepared.exec(ctx, s.sql.insert, args...); err != nil {
		return s.dialect.storeError("save", err)
	}
	return nil
}

// insertCapped creates a login's record and applies its cap in one
// transaction: the INSERT, then the DELETE of the user's other live
// sessions beyond the MaxUserSessions-1 most recently seen. Concurrent
// logins of one user take turns, so that they leave the cap's number of
// sessions. On SQLite the transaction's first statement is a write, which
// takes the database's write lock for the whole transaction. On MySQL the
// INSERT comes first too, then a locking read of the user's sessions
// (FOR UPDATE), which waits for any other login of the user that has
// inserted its row meanwhile; two such logins wait for each other, and
// InnoDB rolls one back as a deadlock's victim, which runs again (see
// againAfterDeadlock) once the other has committed. Every wait is one that
// InnoDB sees, so none outlasts a deadlock's detection. Once the
// transaction has committed, ch.Revoked, when set, is called with the UUID
// of each session the cap deleted.
func (s *Store) insertCapped(ctx context.Context, ch sessions.Change, args []any) error {
	capArgs := []any{ch.Principal, micros(time.Now()), "", "", ch.UUID, ch.UUID, ch.MaxUserSessions - 1}
	if err := s.prepared.warm(ctx, s.sql.insert, s.sql.userDelete); err != nil {
		return s.dialect.storeError("save", err)
	}
	for try := 1; ; try++ {
		capArgs[1] = micros(time.Now())
		revoked, err := s.cappedTx(ctx, s.db, args, capArgs)
		if err == nil {
			reportRevoked(ch, revoked)
			return nil
		}
		if !againAfterDeadlock(ctx, try, err) {
			return s.dialect.storeError("save", err)
		}
	}
}

// beginner is a *sql.DB or a *sql.Conn.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// cappedTx runs the INSERT of a login and the deletion of its cap in one
// transaction, and returns the UUIDs the cap deleted.
func (s *Store) cappedTx(ctx context.Context, db beginner, insertArgs, capArgs []any) ([]string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := s.prepared.txExec(ctx, tx, s.sql.insert, insertArgs...); err != nil {
		return nil, err
	}
	revoked, err := s.deleteUserTx(ctx, tx, capArgs)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return revoked, nil
}

// reportRevoked names through ch.Revoked, when set, the sessions that a
// capped login's committed save deleted.
func reportRevoked(ch sessions.Change, revoked []string) {
	if ch.Revoked != nil {
		for _, uuid := range revoked {
			ch.Revoked(uuid)
		}
	}
}

// releaseLock releases the user's lock. When that fails, the connection,
// which would otherwise go back to the pool holding the lock, is closed,
// which releases it.
func (s *Store) releaseLock(ctx context.Context, conn *sql.Conn, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `DO RELEASE_LOCK(?)`, name); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// quoteAll lists keys as Go strings, comma-separated.
func quoteAll(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(quoted, ", ")
}

// Delete implements sessions.Store with one DELETE of the live row,
// which reports whether it found one: of concurrent deletes of one row,
// one finds it. An expired row is left to the cleaner.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	res, err := s.prepared.exec(ctx, s.sql.remove, id, micros(time.Now()))
	if err != nil {
		return false, s.dialect.storeError("delete", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.dialect.storeError("delete", err)
	}
	return n > 0, nil
}

// Touch implements sessions.Store with one UPDATE of the last-seen time and
// the expiry of a live row; the values are not rewritten. A missing or
// expired row is left alone.
func (s *Store) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	if _, err := s.prepared.exec(ctx, s.sql.touch, micros(seen), micros(expires), id, micros(time.Now())); err != nil {
		return s.dialect.storeError("touch", err)
	}
	return nil
}
