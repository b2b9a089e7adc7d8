package benchmarks

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/google/uuid"
)

// liveSessions is how many sessions BenchmarkMemoryStore keeps.
const liveSessions = 1_000_000

// sessionID is the store id of the i-th session: a SHA-256 digest in hex,
// as the middleware makes from a token. It is computed again when needed
// rather than kept, so the ids held by the benchmark do not count as the
// store's memory.
func sessionID(i int) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

// tutorialChange is a new session of the tutorial's size: two short keys.
func tutorialChange(now time.Time) sessions.Change {
	return sessions.Change{
		New:     true,
		Set:     map[string]string{greetingKey: `"` + greeting + `"`, visitsKey: "3"},
		UUID:    uuid.NewString(),
		Created: now,
		Saved:   now,
		Expires: now.Add(14 * 24 * time.Hour),
	}
}

// fillMemoryStore saves n tutorial-sized sessions in a new memory store and
// returns it with the heap it grew by, per session, after a full GC.
func fillMemoryStore(tb testing.TB, n int) (*sessions.MemoryStore, float64) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// The bound is n itself (the default for a million): all must stay.
	store := sessions.NewMemoryStore(sessions.WithMaxSessions(n))
	for i := range n {
		if err := store.Save(ctx, sessionID(i), tutorialChange(now)); err != nil {
			tb.Fatalf("save %d: %v", i, err)
		}
	}
	if got := store.Len(); got != n {
		tb.Fatalf("the store holds %d of %d sessions", got, n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	tb.Cleanup(func() { store.Close() })
	return store, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// checkStored loads a spread of the n sessions back: none was evicted and
// each holds what was saved.
func checkStored(tb testing.TB, store sessions.Store, n int) {
	tb.Helper()
	for i := 0; i < n; i += max(1, n/1000) {
		checkSession(tb, store, i)
	}
	checkSession(tb, store, n-1)
}

func checkSession(tb testing.TB, store sessions.Store, i int) {
	rec, found, err := store.Load(context.Background(), sessionID(i))
	if err != nil || !found {
		tb.Fatalf("session %d: found %v, err %v", i, found, err)
	}
	if rec.Values[visitsKey] != "3" || rec.Values[greetingKey] != `"`+greeting+`"` {
		tb.Fatalf("session %d holds %v", i, rec.Values)
	}
}

// BenchmarkMemoryStore keeps a million tutorial-sized sessions in the memory
// store and reports the heap they take per session (B/session); the timed
// part loads sessions from the full store.
func BenchmarkMemoryStore(b *testing.B) {
	b.Run("1M-sessions", func(b *testing.B) {
		store, perSession := fillMemoryStore(b, liveSessions)
		checkStored(b, store, liveSessions)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			checkSession(b, store, i%liveSessions)
			i += 7919 // a prime stride: loads spread over the shards
		}
		b.ReportMetric(perSession, "B/session")
		runtime.KeepAlive(store)
	})
}

// TestMemoryStoreKeepsSessions runs the memory benchmark's fill and check
// on fewer sessions.
func TestMemoryStoreKeepsSessions(t *testing.T) {
	const n = 20_000
	store, perSession := fillMemoryStore(t, n)
	checkStored(t, store, n)
	t.Logf("%.0f B per session", perSession)
}
