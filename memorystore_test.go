package sessions_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newMemoryStore(t *testing.T, opts ...sessions.MemoryOption) *sessions.MemoryStore {
	t.Helper()
	st := sessions.NewMemoryStore(opts...)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestMemoryStoreConformance(t *testing.T) {
	sessionstest.Run(t, func(t *testing.T) sessions.Store { return newMemoryStore(t) })
}

func TestMemoryStoreEvictsClosestToExpiry(t *testing.T) {
	// The bound counts records across all shards.
	st := newMemoryStore(t, sessions.WithMaxSessions(64))
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, 0, 200)
	for i := range 200 {
		id := sessionstest.NewID()
		ids = append(ids, id)
		ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
			Created: now, Saved: now, Expires: now.Add(time.Hour + time.Duration(i)*time.Second)}
		if err := st.Save(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Len(); n > 64 {
		t.Fatalf("store holds %d records, bound is 64", n)
	}
	// The last record saved expires last of all, so it always survives.
	if _, found, _ := st.Load(ctx, ids[len(ids)-1]); !found {
		t.Fatal("the newest record was evicted")
	}
}

func TestMemoryStoreJanitorRemovesExpired(t *testing.T) {
	st := newMemoryStore(t, sessions.WithCleanupInterval(5*time.Millisecond))
	ctx := context.Background()
	now := time.Now()
	for i := range 10 {
		ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
			Created: now, Saved: now, Expires: now.Add(time.Duration(i) * time.Millisecond)}
		if err := st.Save(ctx, sessionstest.NewID(), ch); err != nil {
			t.Fatal(err)
		}
	}
	live := sessionstest.NewID()
	ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
		Created: now, Saved: now, Expires: now.Add(time.Hour)}
	if err := st.Save(ctx, live, ch); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.Len() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor left %d records, want 1", st.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, found, _ := st.Load(ctx, live); !found {
		t.Fatal("janitor removed a live record")
	}
}

func TestMemoryStoreCloseIsIdempotent(t *testing.T) {
	st := sessions.NewMemoryStore()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryStoreOptionsPanic(t *testing.T) {
	for name, fn := range map[string]func(){
		"max 0":      func() { sessions.WithMaxSessions(0) },
		"interval 0": func() { sessions.WithCleanupInterval(0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			fn()
		})
	}
}

func TestMemoryStoreBoundIsExact(t *testing.T) {
	const bound = 1000
	st := newMemoryStore(t, sessions.WithMaxSessions(bound))
	ctx := context.Background()
	now := time.Now()
	for i := range 3 * bound {
		ch := sessions.Change{New: true, Set: map[string]string{"i": "1"}, UUID: "u",
			Created: now, Saved: now, Expires: now.Add(time.Hour + time.Duration(i)*time.Millisecond)}
		if err := st.Save(ctx, sessionstest.NewID(), ch); err != nil {
			t.Fatal(err)
		}
		if i < bound && st.Len() != i+1 {
			t.Fatalf("below the bound the store holds %d of %d records", st.Len(), i+1)
		}
	}
	if st.Len() != bound {
		t.Fatalf("store holds %d records, bound is %d", st.Len(), bound)
	}
}
