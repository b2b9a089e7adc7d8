package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/jackc/pgx/v5"
)

// Load implements sessions.Store with one SELECT. A row whose data is not a
// JSON object is reported to the logger and loaded as not found, so that the
// visitor gets a fresh session, as Django does with corrupted data.
func (s *Store) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	var (
		rec    sessions.Record
		data   []byte
		expiry int64
	)
	err := s.pool.QueryRow(ctx, s.sql.load, id, time.Now()).Scan(append([]any{&data}, recordFields(&rec, &expiry)...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sessions.Record{}, false, nil
	}
	if err != nil {
		return sessions.Record{}, false, storeError("load", err)
	}
	if rec.Values, err = decodeValues(data); err != nil {
		s.reportCorrupt(ctx, id, err)
		return sessions.Record{}, false, nil
	}
	rec.Expiry = time.Duration(expiry)
	return rec, true, nil
}

// recordFields are where the columns of recordColumns are scanned to; the
// caller sets rec.Expiry from expiry.
func recordFields(rec *sessions.Record, expiry *int64) []any {
	return []any{&rec.UUID, &rec.Created, &rec.Saved, &rec.LastSeen, &rec.Expires, expiry,
		&rec.Principal, &rec.IP, &rec.UserAgent}
}

func (s *Store) reportCorrupt(ctx context.Context, id string, err error) {
	if logger := s.log(); logger != nil {
		logger.WarnContext(ctx, "sessions: corrupted session in PostgreSQL, loaded as not found",
			"table", s.table.quoted(), "id", id, "error", err)
	}
}

// Save implements sessions.Store with one statement: an INSERT that
// replaces any row under id for a new record, otherwise an UPDATE that
// applies the change to the row as it is (see statements.update,
// statements.increment and, for a conditional save, statements.conditional).
// A retry after a conflict costs a SELECT and this statement again.
func (s *Store) Save(ctx context.Context, id string, ch sessions.Change) error {
	if err := checkText(ch); err != nil {
		return err
	}
	if ch.New {
		return s.insert(ctx, id, ch)
	}
	set, err := valuesObject(ch.Set, nil)
	if err != nil {
		return err
	}
	deleted := ch.Delete
	if deleted == nil {
		deleted = []string{} // NULL would make the whole data NULL
	}
	if len(ch.Expect) > 0 {
		return s.conditional(ctx, id, ch, deleted, set)
	}
	if len(ch.Incr) > 0 {
		return s.increment(ctx, id, ch, deleted, set)
	}
	tag, err := s.pool.Exec(ctx, s.sql.update, id, deleted, set, ch.Saved, ch.Expires, int64(ch.Expiry), time.Now(), storableText(ch.IP))
	if err != nil {
		return storeError("save", err)
	}
	if tag.RowsAffected() == 0 {
		return errInterrupted
	}
	return nil
}

// errInterrupted is Save's answer for a record that is gone.
var errInterrupted = wrapSentinel("sessions: postgres save", sessions.ErrInterrupted)

// increment saves a change that has increments: see statements.increment.
func (s *Store) increment(ctx context.Context, id string, ch sessions.Change, deleted []string, set string) error {
	keys := make([]string, 0, len(ch.Incr))
	deltas := make([]int64, 0, len(ch.Incr))
	for k, d := range ch.Incr {
		keys = append(keys, k)
		deltas = append(deltas, d)
	}
	var (
		saved bool
		bad   []string
	)
	err := s.pool.QueryRow(ctx, s.sql.increment, id, deleted, set, keys, deltas,
		ch.Saved, ch.Expires, int64(ch.Expiry), time.Now(), storableText(ch.IP)).Scan(&saved, &bad)
	switch {
	case err != nil:
		return storeError("save", err)
	case saved:
		return nil
	case len(bad) > 0:
		return wrapSentinel(fmt.Sprintf("sessions: postgres save: incrementing %s (or the sum is outside the int64 range)", quoteAll(bad)),
			sessions.ErrNotInteger)
	}
	return errInterrupted
}

// conditional saves a change with expectations: see
// statements.conditional. It is one statement, as a save without them is.
func (s *Store) conditional(ctx context.Context, id string, ch sessions.Change, deleted []string, set string) error {
	keys := make([]string, 0, len(ch.Incr))
	deltas := make([]int64, 0, len(ch.Incr))
	for k, d := range ch.Incr {
		keys = append(keys, k)
		deltas = append(deltas, d)
	}
	args := []any{id, deleted, set, keys, deltas, ch.Saved, ch.Expires, int64(ch.Expiry), time.Now(), storableText(ch.IP)}
	var absent []any
	for k, v := range ch.Expect {
		switch {
		case v == "":
			absent = append(absent, k)
		case !json.Valid([]byte(v)):
			return fmt.Errorf("sessions: postgres save: the expected value of %q is not JSON text", k)
		default:
			args = append(args, k, v)
		}
	}
	present := (len(args) - 10) / 2
	args = append(args, absent...)
	var (
		saved, live, met bool
		bad              []string
	)
	err := s.pool.QueryRow(ctx, s.sql.conditional(present, len(absent)), args...).Scan(&saved, &live, &met, &bad)
	switch {
	case err != nil:
		return storeError("save", err)
	case saved:
		return nil
	case !live:
		return errInterrupted
	case met && len(bad) > 0:
		return wrapSentinel(fmt.Sprintf("sessions: postgres save: incrementing %s: the value is not an integer, or the sum is outside the int64 range",
			quoteAll(bad)), sessions.ErrNotInteger)
	}
	return wrapSentinel("sessions: postgres save: a key the change expected was changed by a concurrent save", sessions.ErrConflict)
}

// insert creates the record, its increments starting from 0.
func (s *Store) insert(ctx context.Context, id string, ch sessions.Change) error {
	data, err := valuesObject(ch.Set, ch.Incr)
	if err != nil {
		return err
	}
	args := []any{id, data, ch.UUID, ch.Created, ch.Saved, ch.Expires, int64(ch.Expiry),
		ch.Principal, storableText(ch.IP), storableText(ch.UserAgent)}
	if ch.MaxUserSessions > 0 && ch.Principal != "" {
		return s.insertCapped(ctx, ch, args)
	}
	if _, err := s.pool.Exec(ctx, s.sql.insert, args...); err != nil {
		return storeError("save", err)
	}
	return nil
}

// insertCapped creates a login's record and applies its cap in one
// transaction, still one round trip: a batch, which PostgreSQL runs as one
// implicit transaction. The user's advisory lock comes first, so that the
// DELETE, whose snapshot is taken after the lock, sees every login that
// went before: concurrent logins leave the cap's number of sessions. The
// DELETE returns the UUIDs it deleted, named through ch.Revoked once the
// transaction has committed.
func (s *Store) insertCapped(ctx context.Context, ch sessions.Change, args []any) error {
	b := &pgx.Batch{}
	b.Queue(s.sql.userLock, ch.Principal)
	b.Queue(s.sql.insert, args...)
	var revoked []string
	b.Queue(s.sql.userDelete, ch.Principal, time.Now(), "", ch.UUID, ch.MaxUserSessions-1).
		Query(func(rows pgx.Rows) error {
			var err error
			revoked, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return storeError("save", err)
	}
	if ch.Revoked != nil {
		for _, uuid := range revoked {
			ch.Revoked(uuid)
		}
	}
	return nil
}

// quoteAll lists keys as Go strings, comma-separated.
func quoteAll(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(quoted, ", ")
}

// Delete implements sessions.Store with one DELETE, which reports whether
// it found a live row.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	var found bool
	if err := s.pool.QueryRow(ctx, s.sql.remove, id, time.Now()).Scan(&found); err != nil {
		return false, storeError("delete", err)
	}
	return found, nil
}

// Touch implements sessions.Store with one UPDATE of the last-seen time and
// the expiry of a live row; the values are not rewritten. A missing or
// expired row is left alone.
func (s *Store) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, s.sql.touch, id, seen, expires, time.Now()); err != nil {
		return storeError("touch", err)
	}
	return nil
}
