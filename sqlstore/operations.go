package sqlstore

import (
	"context"
	"database/sql"
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
// not fit (ErrNotInteger).
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

// whyUnchanged tells why an update changed no row: the row is gone,
// expired or corrupted (ErrInterrupted), or an increment does not fit
// (ErrNotInteger). done is true with a nil error when the row is there and
// nothing was in the way: MySQL counts only the rows whose values changed,
// so a save that repeats what the row holds changes none.
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
	var bad []string
	for k, d := range ch.Incr {
		v, ok := values[k]
		if !incrementable(v, ok, d) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return true, fmt.Errorf("sessions: sql save: incrementing %s: the value is not an integer, or the sum is outside the int64 range: %w",
			quoteAll(bad), sessions.ErrNotInteger)
	}
	// Nothing in the way now: either the update was a repetition
	// (MySQL), or another request changed the row meanwhile, and an
	// increment must be tried again.
	return len(ch.Incr) == 0, nil
}

// errInterrupted is Save's answer for a record that is gone.
var errInterrupted = fmt.Errorf("sessions: sql save: %w", sessions.ErrInterrupted)

// insert creates the record, its increments starting from 0.
func (s *Store) insert(ctx context.Context, id string, ch sessions.Change) error {
	data, err := valuesObject(ch.Set, ch.Incr)
	if err != nil {
		return err
	}
	saved := micros(ch.Saved)
	if _, err := s.prepared.exec(ctx, s.sql.insert, id, data, ch.UUID, micros(ch.Created), saved, saved,
		micros(ch.Expires), int64(ch.Expiry), ch.Principal, storableText(ch.IP), storableText(ch.UserAgent)); err != nil {
		return s.dialect.storeError("save", err)
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

// Delete implements sessions.Store with one DELETE.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, err := s.prepared.exec(ctx, s.sql.remove, id); err != nil {
		return s.dialect.storeError("delete", err)
	}
	return nil
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
