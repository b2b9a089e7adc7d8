package pgstore_test

import (
	"testing"

	"github.com/ginsessions/sessions/pgstore"
	"github.com/ginsessions/sessions/sessionstest"
)

// TestCleanerConformance runs the kit's cleaner suite on two stores that
// clean one table together, in batches of five.
func TestCleanerConformance(t *testing.T) {
	sessionstest.RunCleaner(t, func(t *testing.T) (a, b sessionstest.Cleaner) {
		first, pool, table := newStore(t, pgstore.WithBatch(5))
		second, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(table), pgstore.WithBatch(5))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { second.Close() })
		count := func(t *testing.T) (int, int) { return countRows(t, pool, table) }
		return sessionstest.Cleaner{Store: first, Clean: first.Clean, Count: count},
			sessionstest.Cleaner{Store: second, Clean: second.Clean, Count: count}
	})
}
