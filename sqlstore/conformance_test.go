package sqlstore_test

import (
	"testing"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

// TestConformance runs the conformance kit, the per-user cases included,
// on each database: SQLite in a file of its own per case, and a throwaway
// MariaDB server with a table of its own per case.
func TestConformance(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			sessionstest.Run(t, func(t *testing.T) sessions.Store {
				store, _, _ := open(t)
				return store
			})
		})
	}
}

// TestMiddlewareConformance runs the kit's middleware suite, the per-user
// cases included, on each database, a store of its own for each case.
func TestMiddlewareConformance(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			sessionstest.RunMiddleware(t, func(t *testing.T) sessions.Store {
				store, _, _ := open(t)
				return store
			})
		})
	}
}
