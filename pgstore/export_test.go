package pgstore

import "context"

// Clean runs the cleaner once, now.
func (s *Store) Clean(ctx context.Context) (int64, error) { return s.clean(ctx) }

// WithBatch sets the cleaner's batch size.
func WithBatch(n int) Option { return func(s *Store) { s.batch = n } }

// CleanerLockKey is the text whose hash names the cleaner's advisory lock
// for the table named name.
func CleanerLockKey(name string) string { return parseTable(name).lockKey("cleaner") }

// UserStatements are the per-user statements, for checking their plans.
func (s *Store) UserStatements() (list, remove string) { return s.sql.userList, s.sql.userDelete }
