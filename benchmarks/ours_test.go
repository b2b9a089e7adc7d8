package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

func init() {
	ourSystems = append(ourSystems,
		system{name: "ours-memory", mount: mountOursMemory},
		system{name: "ours-memory-otel", mount: mountOursMemoryOtel}, // ours_otel_test.go
	)
}

func mountOursMemory(tb testing.TB, r *gin.Engine, _ *redisEnv) handlers {
	store := sessions.NewMemoryStore()
	tb.Cleanup(func() { store.Close() })
	return mountOurs(r, store)
}

// mountOurs is the tutorial's code: no Save call, saving is automatic.
func mountOurs(r *gin.Engine, store sessions.Store, opts ...sessions.Option) handlers {
	r.Use(sessions.Middleware(store, opts...))
	return handlers{
		newSession: func(c *gin.Context) {
			sessions.Default(c).Set(greetingKey, greeting)
			c.String(http.StatusOK, "new")
		},
		counter: func(c *gin.Context) {
			s := sessions.Default(c)
			n := s.GetInt(visitsKey) + 1
			s.Set(visitsKey, n)
			c.String(http.StatusOK, strconv.Itoa(n))
		},
		read: func(c *gin.Context) {
			c.String(http.StatusOK, sessions.Default(c).GetString(greetingKey))
		},
	}
}

// countingStore counts the calls made to the store it wraps.
type countingStore struct {
	sessions.Store
	calls atomic.Int64
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

// TestOursStoreCalls counts the store calls each workload costs this
// library: none for a request that never touches the session, cookie or
// not; one load to read; one load and one save for the counter; one save
// for a new session.
func TestOursStoreCalls(t *testing.T) {
	tests := []struct {
		workload string
		calls    int64 // per request
	}{
		{"untouched", 0},
		{"untouched-cookie", 0},
		{"new", 1},
		{"counter", 2},
		{"read", 1},
	}
	for _, tt := range tests {
		t.Run(tt.workload, func(t *testing.T) {
			store := &countingStore{Store: sessions.NewMemoryStore()}
			t.Cleanup(func() { store.Store.(*sessions.MemoryStore).Close() })
			sys := system{name: "ours-memory-counted", mount: func(_ testing.TB, r *gin.Engine, _ *redisEnv) handlers {
				return mountOurs(r, store)
			}}
			w := workloadNamed(t, tt.workload)
			h, _ := sys.engine(t)
			req := w.prepare(t, sys, h)
			before := store.calls.Load()
			const n = 5
			var last *httptest.ResponseRecorder
			for i := range n {
				last = serve(h, req)
				if msg := w.check(sys, last); msg != "" {
					t.Fatalf("request %d: %s", i+1, msg)
				}
			}
			if got := store.calls.Load() - before; got != n*tt.calls {
				t.Fatalf("%d store calls for %d requests, want %d each", got, n, tt.calls)
			}
			w.verify(t, sys, h, last, n)
		})
	}
}
