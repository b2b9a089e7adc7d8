package pgstore

import (
	"context"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/jackc/pgx/v5"
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
				logger.WarnContext(ctx, "sessions: deleting expired sessions from PostgreSQL failed; retrying at the next interval",
					"table", s.table.quoted(), "error", err)
			}
		}
	}
}

// clean deletes the rows that have expired, in batches of s.batch rows, and
// returns how many it deleted. Each batch is a short transaction of its own
// that first takes the table's cleaning lock without waiting: when another
// process holds it, that process is cleaning, and this one stops. Rows that
// a request holds are skipped rather than waited for.
//
// Each batch reports its rows to the hooks (EventExpired) before it
// commits: a process that dies in between leaves the rows to the next
// run, which reports them again, so an expiry is reported at least once
// and never lost. Rows deleted otherwise (Delete, a revocation) are live
// ones, never reported as expired.
func (s *Store) clean(ctx context.Context) (int64, error) {
	lockKey := s.table.lockKey("cleaner")
	var total int64
	for range maxBatchesPerRun {
		var deleted int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var locked bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, lockKey).Scan(&locked); err != nil || !locked {
				return err
			}
			now := time.Now()
			rows, err := tx.Query(ctx, s.sql.cleanBatch, now, s.batch)
			if err != nil {
				return err
			}
			ended, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sessions.Event, error) {
				e := sessions.Event{Kind: sessions.EventExpired, At: now}
				return e, row.Scan(&e.UUID, &e.Principal)
			})
			deleted = int64(len(ended))
			if err != nil {
				return err
			}
			for _, e := range ended {
				s.Emit(ctx, e)
			}
			return nil
		})
		if err != nil {
			return total, storeError("cleanup", err)
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
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+s.table.quoted()+` WHERE expires > $1`, time.Now()).Scan(&n); err != nil {
		return storeError("counting sessions", err)
	}
	s.active.Store(n)
	s.counted.Store(true)
	return nil
}
