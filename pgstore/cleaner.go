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
			return total, nil
		}
	}
	return total, nil
}
