package pgstore

import (
	"context"
	"time"

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
			tag, err := tx.Exec(ctx, s.sql.cleanBatch, time.Now(), s.batch)
			deleted = tag.RowsAffected()
			return err
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
