package sessions_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// startRedisStore is NewRedisStore's fail-fast start-up, as its doc and
// ExampleNewRedisStore_failFast write it.
func startRedisStore(addr string, deadline time.Duration) (*sessions.RedisStore, func(), error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return sessions.NewRedisStore(rdb), func() { rdb.Close() }, nil
}

// TestRedisFailFastAtStartup: the documented start-up refuses, within its
// deadline, a Redis that is down or that accepts connections but never
// answers, and serves sessions through gin from one that is up.
func TestRedisFailFastAtStartup(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	const deadline = 300 * time.Millisecond
	tests := []struct {
		name   string
		addr   string
		wantUp bool
	}{
		{"down", "127.0.0.1:1", false},
		{"silent", silent.Addr().String(), false},
		{"up", redistest.Addr(t), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			store, closeStore, err := startRedisStore(tt.addr, deadline)
			if took := time.Since(start); took > deadline+time.Second {
				t.Fatalf("the start-up took %v, past its deadline of %v", took, deadline)
			}
			if !tt.wantUp {
				if err == nil {
					closeStore()
					t.Fatal("the start-up accepted a Redis that does not answer")
				}
				return
			}
			if err != nil {
				t.Fatalf("the start-up refused a Redis that is up: %v", err)
			}
			defer closeStore()
			r := newEngine(store, nil, kvRoutes)
			cl := newClient(t, r)
			cl.get("/set?k=a&v=1")
			if rec := cl.get("/get?k=a"); rec.Code != http.StatusOK || rec.Body.String() != "1" {
				t.Fatalf("a session on the Redis that is up: %d %q", rec.Code, rec.Body.String())
			}
		})
	}
}
