package sqlstore

import (
	"context"
	"database/sql"
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

// DeleteUserSessions implements sessions.UserStore, atomically: a session
// of the user created meanwhile is either deleted or listed afterwards.
// On SQLite it is one DELETE, which returns the UUIDs it deleted; on MySQL
// a transaction picks the rows and locks them, with the range of the
// user's index they lie in, then deletes them. Expired rows are left to
// the cleaner and not counted. sel.Deleted, when set, is called with the
// UUID of each session deleted, once the deletion is committed.
func (s *Store) DeleteUserSessions(ctx context.Context, principal string, sel sessions.UserSelection) (int, error) {
	args := func() []any {
		return []any{principal, micros(time.Now()), sel.UUID, sel.UUID, sel.Except, sel.Except, max(sel.Keep, 0)}
	}
	var (
		deleted []string
		err     error
	)
	if s.dialect.kind == kindMySQL {
		deleted, err = s.deleteUserMySQL(ctx, args)
	} else {
		deleted, err = s.deleteUserSQLite(ctx, args())
	}
	if err != nil {
		return 0, s.dialect.storeError("deleting a user's sessions", err)
	}
	if sel.Deleted != nil {
		for _, uuid := range deleted {
			sel.Deleted(uuid)
		}
	}
	return len(deleted), nil
}

// deleteUserSQLite runs the one DELETE ... RETURNING of a deletion of a
// user's sessions.
func (s *Store) deleteUserSQLite(ctx context.Context, args []any) ([]string, error) {
	rows, err := s.prepared.query(ctx, s.sql.userDelete, args...)
	if err != nil {
		return nil, err
	}
	return s.scanDeleted(rows)
}

// deleteUserMySQL runs a deletion of a user's sessions in a transaction of
// its own, again when InnoDB picks it as a deadlock's victim (it meets a
// capped login's locks), which rolled it back whole.
func (s *Store) deleteUserMySQL(ctx context.Context, args func() []any) ([]string, error) {
	if err := s.prepared.warm(ctx, s.sql.userDelete); err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		deleted, err := func() ([]string, error) {
			tx, err := s.db.BeginTx(ctx, nil)
			if err != nil {
				return nil, err
			}
			defer tx.Rollback()
			deleted, err := s.deleteUserTx(ctx, tx, args())
			if err != nil {
				return nil, err
			}
			return deleted, tx.Commit()
		}()
		if err == nil || !againAfterDeadlock(ctx, try, err) {
			return deleted, err
		}
	}
}

// deleteUserTx deletes in tx the user's sessions that args pick (see
// statements.userDelete) and returns their UUIDs: SQLite's DELETE returns
// them, and on MySQL the rows picked and locked are deleted by their ids.
func (s *Store) deleteUserTx(ctx context.Context, tx *sql.Tx, args []any) ([]string, error) {
	rows, err := s.prepared.txQuery(ctx, tx, s.sql.userDelete, args...)
	if err != nil {
		return nil, err
	}
	if s.dialect.kind != kindMySQL {
		return s.scanDeleted(rows)
	}
	var (
		ids     []any
		deleted []string
	)
	for rows.Next() {
		var id, uuid string
		if err := rows.Scan(&id, &uuid); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
		deleted = append(deleted, uuid)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := deleteIDs(ctx, tx, s.sql.table, ids); err != nil {
		return nil, err
	}
	return deleted, nil
}

// scanDeleted reads the UUIDs that a DELETE ... RETURNING uuid returned;
// the statement is done once they are all read.
func (s *Store) scanDeleted(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var deleted []string
	for rows.Next() {
		var uuid string
		if err := rows.Scan(&uuid); err != nil {
			return nil, err
		}
		deleted = append(deleted, uuid)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return deleted, rows.Close()
}
