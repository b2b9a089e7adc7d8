package pgstore_test

import (
	"testing"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

// TestConformance runs the conformance kit, the per-user cases included, on
// a real PostgreSQL: a table of its own for each case, through one pool.
func TestConformance(t *testing.T) {
	pool := newPool(t, needServer(t), nil)
	sessionstest.Run(t, func(t *testing.T) sessions.Store {
		store, _, _ := newStoreOn(t, pool)
		return store
	})
}

// TestMiddlewareConformance runs the kit's middleware suite, the per-user
// cases included, on a real PostgreSQL: a table of its own for each case.
func TestMiddlewareConformance(t *testing.T) {
	pool := newPool(t, needServer(t), nil)
	sessionstest.RunMiddleware(t, func(t *testing.T) sessions.Store {
		store, _, _ := newStoreOn(t, pool)
		return store
	})
}
