package pgstore_test

import (
	"testing"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

// TestConformance runs the conformance kit on a real PostgreSQL, one table
// for all its subtests (the kit's ids are random).
func TestConformance(t *testing.T) {
	store, _, _ := newStore(t)
	sessionstest.Run(t, func(t *testing.T) sessions.Store { return store })
}
