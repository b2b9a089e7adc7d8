package sqlstore

import (
	"context"
	"time"

	"github.com/ginsessions/sessions"
)

// UserTag implements sessions.UserStore: the store needs no tag, since its
// index of a user's sessions is the principal column itself.
func (s *Store) UserTag(context.Context, string) (string, error) { return "", nil }

// LoadUserSessions implements sessions.UserStore with one SELECT by the
// index on principal. The records' Values are nil.
func (s *Store) LoadUserSessions(ctx context.Context, principal string) ([]sessions.Record, error) {
	rows, err := s.prepared.query(ctx, s.sql.userList, principal, micros(time.Now()))
	if err != nil {
		return nil, s.dialect.storeError("listing a user's sessions", err)
	}
	defer rows.Close()
	var recs []sessions.Record
	for rows.Next() {
		var (
			rec sessions.Record
			t   recordTimes
		)
		if err := rows.Scan(t.fields(&rec)...); err != nil {
			return nil, s.dialect.storeError("listing a user's sessions", err)
		}
		t.set(&rec)
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dialect.storeError("listing a user's sessions", err)
	}
	return recs, nil
}

// DeleteUserSessions implements sessions.UserStore with one DELETE, which
// is atomic: a session of the user created meanwhile is either deleted or
// listed afterwards. Expired rows are left to the cleaner and not counted.
func (s *Store) DeleteUserSessions(ctx context.Context, principal string, sel sessions.UserSelection) (int, error) {
	res, err := s.prepared.exec(ctx, s.sql.userDelete, principal, micros(time.Now()),
		sel.UUID, sel.UUID, sel.Except, sel.Except, max(sel.Keep, 0))
	if err != nil {
		return 0, s.dialect.storeError("deleting a user's sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.dialect.storeError("deleting a user's sessions", err)
	}
	return int(n), nil
}
