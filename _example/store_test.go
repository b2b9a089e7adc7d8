package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
)

// countingStore counts the calls that reach the store, all four methods of
// Store. A request that carries a session cookie loads it before anything
// else, so a request refused before the middleware leaves the count at zero.
type countingStore struct {
	sessions.Store
	calls atomic.Int64
}

func newCountingStore(t *testing.T) *countingStore {
	store := sessions.NewMemoryStore()
	t.Cleanup(func() { _ = store.Close() })
	return &countingStore{Store: store}
}

func (s *countingStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	s.calls.Add(1)
	return s.Store.Load(ctx, id)
}

func (s *countingStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	s.calls.Add(1)
	return s.Store.Save(ctx, id, ch)
}

func (s *countingStore) Delete(ctx context.Context, id string) (bool, error) {
	s.calls.Add(1)
	return s.Store.Delete(ctx, id)
}

func (s *countingStore) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	s.calls.Add(1)
	return s.Store.Touch(ctx, id, seen, expires)
}
