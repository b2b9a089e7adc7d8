package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"strings"
	"time"

	"github.com/ginsessions/sessions"
)

// maxBatchesPerRun bounds one run of the cleaner; what is left waits for
// the next run.
const maxBatchesPerRun = 1000

// cleanEvery runs the cleaner every interval until ctx ends.
func (s *Store) cleanEvery(ctx context.Context) {
	defer close(s.done)
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if _, err := s.clean(ctx); err != nil && ctx.Err() == nil {
			if logger := s.log(); logger != nil {
				logger.WarnContext(ctx, "sessions: deleting expired sessions failed; retrying at the next interval",
					"dialect", s.dialect.String(), "table", s.sql.table, "error", err)
			}
		}
	}
}

// clean deletes the rows that have expired, in batches of s.batch rows, and
// returns how many it deleted. Each batch is a short transaction of its
// own, so that a request's write waits at most for one batch. Processes
// that share the table take turns: SQLite runs their batches one after
// the other, and on MySQL a run first takes the table's cleaning lock
// (GET_LOCK) without waiting: when another process holds it, that process
// is cleaning, and this one stops.
//
// Each batch reports its rows to the hooks (EventExpired) before it
// commits: a process that dies in between leaves the rows to the next
// run, which reports them again, so an expiry is reported at least once
// and never lost. Rows deleted otherwise (Delete, a revocation) are live
// ones, never reported as expired.
func (s *Store) clean(ctx context.Context) (int64, error) {
	var db beginner = s.db
	if s.dialect.kind == kindMySQL {
		conn, locked, err := s.cleaningLock(ctx)
		if err != nil {
			return 0, err
		}
		if !locked {
			return 0, nil
		}
		defer conn.Close()
		defer s.releaseLock(ctx, conn, s.cleanerLockName())
		db = conn
	}
	var total int64
	for range maxBatchesPerRun {
		deleted, err := s.cleanBatchRetried(ctx, db)
		if err != nil {
			return total, s.dialect.storeError("cleanup", err)
		}
		total += deleted
		if deleted < int64(s.batch) {
			break
		}
	}
	if s.counting.Load() {
		if err := s.countActive(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

// cleaningLock takes the table's cleaning lock on a connection of its own,
// without waiting; locked is false, and conn nil, when another process
// holds it.
func (s *Store) cleaningLock(ctx context.Context) (conn *sql.Conn, locked bool, err error) {
	conn, err = s.db.Conn(ctx)
	if err != nil {
		return nil, false, s.dialect.storeError("cleanup", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, s.cleanerLockName()).Scan(&got); err != nil {
		// The server may have granted the lock all the same: the
		// connection is closed rather than go back to the pool with it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		return nil, false, s.dialect.storeError("cleanup: taking the cleaning lock", err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return nil, false, nil
	}
	return conn, true, nil
}

// cleanerLockName is the name of the table's cleaning lock on MySQL.
func (s *Store) cleanerLockName() string {
	sum := sha256.Sum256([]byte("cleaner\x00" + s.sql.table))
	return "ginsessions-cleaner:" + hex.EncodeToString(sum[:16])
}

// cleanBatchRetried runs a batch again when InnoDB picks it as a
// deadlock's victim (it meets a login's locks), which rolled it back
// whole; its rows are then reported again.
func (s *Store) cleanBatchRetried(ctx context.Context, db beginner) (int64, error) {
	for try := 1; ; try++ {
		n, err := s.cleanBatch(ctx, db)
		if err == nil || !againAfterDeadlock(ctx, try, err) {
			return n, err
		}
	}
}

// cleanBatch deletes one batch of expired rows in a transaction, reporting
// them before it commits. On SQLite one DELETE ... RETURNING deletes them
// and names them, under the database's write lock. MySQL 8 has no
// RETURNING: SELECT ... FOR UPDATE SKIP LOCKED picks the batch and locks
// its rows, skipping those a request holds, which are reported, then
// deleted by their ids.
func (s *Store) cleanBatch(ctx context.Context, db beginner) (int64, error) {
	var opts *sql.TxOptions
	if s.dialect.kind == kindMySQL {
		// Only the rows picked are locked, not the ranges of the index
		// around them, so that cleaners and logins do not wait for
		// each other.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	now := time.Now()
	rows, err := tx.QueryContext(ctx, s.sql.cleanBatch, micros(now), s.batch)
	if err != nil {
		return 0, err
	}
	var (
		ids   []any
		ended []sessions.Event
	)
	for rows.Next() {
		var id string
		e := sessions.Event{Kind: sessions.EventExpired, At: now}
		if err := rows.Scan(&id, &e.UUID, &e.Principal); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
		ended = append(ended, e)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(ended) == 0 {
		return 0, tx.Commit()
	}
	for _, e := range ended {
		s.Emit(ctx, e)
	}
	if s.dialect.kind == kindMySQL {
		if err := deleteIDs(ctx, tx, s.sql.table, ids); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int64(len(ended)), nil
}

// maxIDsPerDelete bounds the ids of one DELETE ... WHERE id IN, well
// within the placeholders a statement may have.
const maxIDsPerDelete = 1000

// deleteIDs deletes the rows of table whose ids are ids, in tx.
func deleteIDs(ctx context.Context, tx *sql.Tx, table string, ids []any) error {
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerDelete)
		query := `DELETE FROM ` + table + ` WHERE id IN (?` + strings.Repeat(`, ?`, n-1) + `)`
		if _, err := tx.ExecContext(ctx, query, ids[:n]...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// ActiveSessions returns how many live sessions the table held when the
// cleaner last counted them, for a gauge such as otelsessions'
// WithActiveSessions; ok is false until it has. The cleaner counts at each
// run (every WithCleanupInterval), once something has asked: a count by
// the index on expires, cheap at that pace, where counting on every call
// would not be.
func (s *Store) ActiveSessions() (n int64, ok bool) {
	s.counting.Store(true)
	if !s.counted.Load() {
		return 0, false
	}
	return s.active.Load(), true
}

// countActive counts the live rows for ActiveSessions.
func (s *Store) countActive(ctx context.Context) error {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+s.sql.table+` WHERE expires > ?`, micros(time.Now())).Scan(&n); err != nil {
		return s.dialect.storeError("counting sessions", err)
	}
	s.active.Store(n)
	s.counted.Store(true)
	return nil
}
