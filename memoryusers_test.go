package sessions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

// bind creates a session of principal in st, expiring at expires.
func bind(t *testing.T, st sessions.Store, principal string, expires time.Time) string {
	t.Helper()
	id := sessionstest.NewID()
	now := time.Now()
	ch := sessions.Change{New: true, UUID: id[:36], Created: now, Saved: now, Expires: expires, Principal: principal}
	if err := st.Save(context.Background(), id, ch); err != nil {
		t.Fatal(err)
	}
	return id
}

// The memory store's index drops a record's entry when the record goes,
// however it goes, without waiting for a listing.
func TestMemoryIndexHasNoDeadEntries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) (st *sessions.MemoryStore, live int)
	}{
		{"deleted", func(t *testing.T) (*sessions.MemoryStore, int) {
			st := newMemoryStore(t)
			for i := range 30 {
				id := bind(t, st, fmt.Sprintf("user-%d", i%3), time.Now().Add(time.Hour))
				if i%3 != 0 {
					if _, err := st.Delete(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
			}
			return st, 10
		}},
		{"expired", func(t *testing.T) (*sessions.MemoryStore, int) {
			st := newMemoryStore(t, sessions.WithCleanupInterval(5*time.Millisecond))
			for i := range 30 {
				expires := time.Now().Add(time.Hour)
				if i%3 != 0 {
					expires = time.Now().Add(20 * time.Millisecond)
				}
				bind(t, st, fmt.Sprintf("user-%d", i%4), expires)
			}
			// The janitor's pace is the store's: poll, within a bound.
			for deadline := time.Now().Add(5 * time.Second); st.Len() > 10 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			return st, 10
		}},
		{"evicted", func(t *testing.T) (*sessions.MemoryStore, int) {
			st := newMemoryStore(t, sessions.WithMaxSessions(5))
			for i := range 30 {
				bind(t, st, "ann", time.Now().Add(time.Hour+time.Duration(i)*time.Second))
			}
			return st, 5
		}},
		{"replaced", func(t *testing.T) (*sessions.MemoryStore, int) {
			st := newMemoryStore(t)
			id := bind(t, st, "ann", time.Now().Add(time.Hour))
			ch := sessions.Change{New: true, UUID: "u", Saved: time.Now(), Expires: time.Now().Add(time.Hour)}
			if err := st.Save(ctx, id, ch); err != nil {
				t.Fatal(err)
			}
			return st, 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, live := tc.run(t)
			if n := sessions.MemoryIndexLen(st); n != live {
				t.Fatalf("the index holds %d entries, %d sessions are alive", n, live)
			}
		})
	}
}
