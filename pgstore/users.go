package pgstore

import (
	"context"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/jackc/pgx/v5"
)

// UserTag implements sessions.UserStore: the store needs no tag, since its
// index of a user's sessions is the principal column itself.
func (s *Store) UserTag(context.Context, string) (string, error) { return "", nil }

// LoadUserSessions implements sessions.UserStore with one SELECT by the
// index on principal. The records' Values are nil.
func (s *Store) LoadUserSessions(ctx context.Context, principal string) ([]sessions.Record, error) {
	rows, err := s.pool.Query(ctx, s.sql.userList, principal, time.Now())
	if err != nil {
		return nil, storeError("listing a user's sessions", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sessions.Record, error) {
		var (
			rec    sessions.Record
			expiry int64
		)
		err := row.Scan(recordFields(&rec, &expiry)...)
		rec.Expiry = time.Duration(expiry)
		return rec, err
	})
	if err != nil {
		return nil, storeError("listing a user's sessions", err)
	}
	return recs, nil
}

// DeleteUserSessions implements sessions.UserStore with one DELETE, which
// is atomic: a session of the user created meanwhile is either deleted or
// listed afterwards. Expired rows are left to the cleaner and not counted.
func (s *Store) DeleteUserSessions(ctx context.Context, principal string, sel sessions.UserSelection) (int, error) {
	rows, err := s.pool.Query(ctx, s.sql.userDelete, principal, time.Now(), sel.UUID, sel.Except, max(sel.Keep, 0))
	if err != nil {
		return 0, storeError("deleting a user's sessions", err)
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, storeError("deleting a user's sessions", err)
	}
	if sel.Deleted != nil {
		for _, uuid := range ended {
			sel.Deleted(uuid)
		}
	}
	return len(ended), nil
}

// Compile-time check that Store keeps a per-user index.
var _ sessions.UserStore = (*Store)(nil)
