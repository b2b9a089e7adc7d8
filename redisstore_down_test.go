package sessions_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// Client settings for a store that must fail fast when Redis is gone, as the
// docs/redis.md recommends: short timeouts, deadlines taken from the request.
const (
	fastTimeout = 250 * time.Millisecond
	// recoverWithin bounds how long a test waits for a restarted server
	// (and, on a cluster, for the cluster to heal) before it fails.
	recoverWithin = 30 * time.Second
)

// redisOutage is a deployment whose server can be killed and restarted.
type redisOutage struct {
	client func() redis.UniversalClient
	// kill kills the server that holds key; restart brings it back and
	// waits until the deployment is whole again.
	kill    func(t *testing.T, rdb redis.UniversalClient, key string)
	restart func()
}

var redisOutages = []struct {
	name  string
	start func(t *testing.T) redisOutage
}{
	{"node", func(t *testing.T) redisOutage {
		srv := redistest.Start(t) // its own server, even with REDIS_ADDR
		return redisOutage{
			client: func() redis.UniversalClient {
				return closeAtEnd(t, redis.NewClient(&redis.Options{
					Addr: srv.Addr, DialTimeout: fastTimeout, ReadTimeout: fastTimeout,
					WriteTimeout: fastTimeout, PoolTimeout: fastTimeout,
					ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1,
				}))
			},
			kill:    func(*testing.T, redis.UniversalClient, string) { srv.Kill() },
			restart: srv.Restart,
		}
	}},
	{"cluster", func(t *testing.T) redisOutage {
		c := redistest.StartCluster(t)
		var killed *redistest.Server
		return redisOutage{
			client: func() redis.UniversalClient {
				return closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{
					Addrs: c.Addrs(), DialTimeout: fastTimeout, ReadTimeout: fastTimeout,
					WriteTimeout: fastTimeout, PoolTimeout: fastTimeout,
					ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1,
				}))
			},
			kill: func(t *testing.T, rdb redis.UniversalClient, key string) {
				master, err := rdb.(*redis.ClusterClient).MasterForKey(t.Context(), key)
				mustNot(t, err, "finding the master of %s", key)
				if killed = c.Node(master.Options().Addr); killed == nil {
					t.Fatalf("no node at %s", master.Options().Addr)
				}
				killed.Kill()
			},
			restart: func() {
				killed.Restart()
				c.WaitOK()
			},
		}
	}},
}

// TestRedisStoreDownAndBack kills the redis-server that holds a session, in
// the middle of a browsing session, and starts it again on the same port.
// While it is down, every store call fails with ErrUnavailable, requests that
// use the session get 503 and requests that do not get 200, and failed calls
// leave no goroutines behind. Once it is back, the same store and engine work.
func TestRedisStoreDownAndBack(t *testing.T) {
	for _, o := range redisOutages {
		t.Run(o.name, func(t *testing.T) {
			out := o.start(t)
			rdb := out.client()
			prefix := testPrefix(t, rdb)
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
			browser := newClient(t, newEngine(store, nil, counterRoutes))
			if rec := browser.get("/count"); rec.Body.String() != "1" {
				t.Fatalf("/count = %d %q before the outage", rec.Code, rec.Body)
			}
			id := sessions.StoreID(browser.cookie("sessionid"))
			baseline := runtime.NumGoroutine()

			out.kill(t, rdb, sessions.RedisKey(prefix, id))
			expectUnavailable(t, store, id)
			for _, req := range []struct {
				path string
				code int
			}{
				{"/count", http.StatusServiceUnavailable},
				{"/get?k=count", http.StatusServiceUnavailable},
				{"/none", http.StatusOK},
			} {
				if rec := browser.get(req.path); rec.Code != req.code {
					t.Errorf("store down: GET %s = %d, want %d", req.path, rec.Code, req.code)
				}
			}
			// One dial-probing goroutine per connection pool may stay while
			// Redis is away; the calls themselves must leave nothing.
			waitGoroutines(t, baseline+2)

			out.restart()
			waitRecovered(t, store, id)
			// Redis kept nothing on disk, so the session is gone: the
			// browser's cookie no longer counts, and a new session starts.
			for _, want := range []string{"1", "2"} {
				if rec := browser.get("/count"); rec.Code != http.StatusOK || rec.Body.String() != want {
					t.Errorf("store back: /count = %d %q, want 200 %q", rec.Code, rec.Body, want)
				}
			}
		})
	}
}

// expectUnavailable checks every store call, alone and many at once, against
// a server that is down.
func expectUnavailable(t *testing.T, store sessions.Store, id string) {
	t.Helper()
	ops := map[string]func(ctx context.Context) error{
		"Load": func(ctx context.Context) error {
			_, _, err := store.Load(ctx, id)
			return err
		},
		"Save": func(ctx context.Context) error { return store.Save(ctx, id, change(false)) },
		"Delete": func(ctx context.Context) error {
			_, err := store.Delete(ctx, id)
			return err
		},
		"Touch": func(ctx context.Context) error { return store.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)) },
	}
	const concurrent = 25
	errs := make(chan error, concurrent*len(ops))
	var wg sync.WaitGroup
	for range concurrent {
		for _, op := range ops {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				errs <- op(ctx)
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, sessions.ErrUnavailable) || !strings.HasPrefix(err.Error(), "sessions: ") {
			t.Fatalf("store down: error %v, want one wrapping ErrUnavailable", err)
		}
	}
}

// waitGoroutines waits until at most max goroutines run, as they should once
// failed calls have unwound, and fails t with their stacks if they do not.
func waitGoroutines(t *testing.T, max int) {
	t.Helper()
	deadline := time.Now().Add(recoverWithin)
	for runtime.NumGoroutine() > max {
		if time.Now().After(deadline) {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("%d goroutines remain, want at most %d", runtime.NumGoroutine(), max)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRecovered waits until the store answers again. The client notices a
// restarted server on its next connection attempt or its next probe.
func waitRecovered(t *testing.T, store sessions.Store, id string) {
	t.Helper()
	deadline := time.Now().Add(recoverWithin)
	for {
		_, _, err := store.Load(t.Context(), id)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store still failing %v after the restart: %v", recoverWithin, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisStoreHungServer stops a redis-server without closing anything, as
// a hung server or a network dropping packets would, and checks that store
// calls end when the request's context does, even though the client's own
// timeouts are far longer.
func TestRedisStoreHungServer(t *testing.T) {
	srv := redistest.Start(t)
	rdb := closeAtEnd(t, redis.NewClient(&redis.Options{
		Addr: srv.Addr, DialTimeout: time.Hour, ReadTimeout: time.Hour, WriteTimeout: time.Hour,
		PoolTimeout: time.Hour, ContextTimeoutEnabled: true,
	}))
	store := sessions.NewRedisStore(rdb)
	id := newID(t)
	mustNot(t, store.Save(t.Context(), id, change(true)), "save")

	srv.Pause()
	ops := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"Load", func(ctx context.Context) error { _, _, err := store.Load(ctx, id); return err }},
		{"Save", func(ctx context.Context) error { return store.Save(ctx, id, change(false)) }},
	}
	for _, o := range ops {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		err := o.op(ctx)
		cancel()
		if !errors.Is(err, sessions.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a hung server = %v, want ErrUnavailable and the context's deadline", o.name, err)
		}
	}

	srv.Resume()
	if _, found, err := store.Load(t.Context(), id); err != nil || !found {
		t.Errorf("after the server resumed: Load = found %v, %v", found, err)
	}
}
