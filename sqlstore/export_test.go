package sqlstore

import "context"

// Clean runs the cleaner once, now.
func (s *Store) Clean(ctx context.Context) (int64, error) { return s.clean(ctx) }

// WithBatch sets the cleaner's batch size.
func WithBatch(n int) Option { return func(s *Store) { s.batch = n } }
