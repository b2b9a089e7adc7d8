package sqlstore

import (
	"context"
	"time"
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
// returns how many it deleted. Each batch is one DELETE, a short
// transaction of its own, so that a request's write waits at most for one
// batch. Processes that share the table may clean at once: SQLite runs
// their batches one after the other, and on MySQL two batches that meet
// wait for each other's row locks, each deleting what the other left.
func (s *Store) clean(ctx context.Context) (int64, error) {
	var total int64
	for range maxBatchesPerRun {
		res, err := s.db.ExecContext(ctx, s.sql.cleanBatch, micros(time.Now()), s.batch)
		if err != nil {
			return total, s.dialect.storeError("cleanup", err)
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return total, s.dialect.storeError("cleanup", err)
		}
		total += deleted
		if deleted < int64(s.batch) {
			return total, nil
		}
	}
	return total, nil
}
