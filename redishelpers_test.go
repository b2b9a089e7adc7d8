package sessions_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"

	"github.com/ginsessions/sessions/internal/redistest"
)

// redisBackend is a kind of Redis deployment that the store must work on.
type redisBackend struct {
	name string
	// start starts the deployment for t and returns a function that makes
	// clients of it, closed when the test that asked for one ends.
	start func(t *testing.T) func(t *testing.T) redis.UniversalClient
}

// redisBackends are a single server (or REDIS_ADDR) and a real three-master
// Redis Cluster.
var redisBackends = []redisBackend{
	{name: "node", start: func(t *testing.T) func(t *testing.T) redis.UniversalClient {
		addr := redistest.Addr(t)
		return func(t *testing.T) redis.UniversalClient {
			return closeAtEnd(t, redis.NewClient(&redis.Options{Addr: addr}))
		}
	}},
	{name: "cluster", start: func(t *testing.T) func(t *testing.T) redis.UniversalClient {
		c := redistest.StartCluster(t)
		return func(t *testing.T) redis.UniversalClient {
			return closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()}))
		}
	}},
}

func closeAtEnd(t *testing.T, c redis.UniversalClient) redis.UniversalClient {
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newID returns a fresh record id as the middleware makes them: the hex
// SHA-256 digest of a random token.
func newID(t testing.TB) string {
	sum := sha256.Sum256([]byte(rand.Text()))
	return hex.EncodeToString(sum[:])
}

// testPrefix returns a key prefix of t's own, so that tests sharing a server
// (REDIS_ADDR) never see each other's keys, and deletes the keys under it
// when t ends. SCAN, unlike KEYS, does not block a shared server.
// testStore returns a client from client and a store on it whose keys live
// under a prefix of the test's own.
func testStore(t *testing.T, client func(t *testing.T) redis.UniversalClient) (redis.UniversalClient, *sessions.RedisStore) {
	t.Helper()
	rdb := client(t)
	return rdb, sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb)))
}

func testPrefix(t testing.TB, rdb redis.UniversalClient) string {
	prefix := "sessionstest:" + strings.ToLower(rand.Text()[:10]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		clean := func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				if err := c.Del(ctx, iter.Val()).Err(); err != nil {
					return err
				}
			}
			return iter.Err()
		}
		var err error
		switch c := rdb.(type) {
		case *redis.ClusterClient:
			err = c.ForEachMaster(ctx, clean)
		case *redis.Client:
			err = clean(ctx, c)
		}
		if err != nil {
			t.Errorf("deleting the keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// roundTrips counts what a go-redis client sends: one round trip per command
// or per pipeline, recorded as the commands' names joined by "+" ("GET" or
// "MULTI+HSET+EXEC"). The handshake of a new connection (HELLO, CLIENT
// SETINFO) is left out: it is the pool's, not the request's.
type roundTrips struct {
	mu    sync.Mutex
	trips []string
}

func countRoundTrips(c redis.UniversalClient) *roundTrips {
	rt := &roundTrips{}
	c.AddHook(rt)
	return rt
}

func (rt *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (rt *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		rt.add(cmd)
		return next(ctx, cmd)
	}
}

func (rt *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		rt.add(cmds...)
		return next(ctx, cmds)
	}
}

func (rt *roundTrips) add(cmds ...redis.Cmder) {
	var names []string
	for _, c := range cmds {
		if name := strings.ToUpper(c.Name()); name != "HELLO" && name != "CLIENT" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.trips = append(rt.trips, strings.Join(names, "+"))
}

// take returns the round trips since the last take and starts again.
func (rt *roundTrips) take() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	trips := rt.trips
	rt.trips = nil
	return trips
}

// logBuffer collects what a slog.Logger writes, for tests that check that
// something was reported.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// mustNot fails t when err is not nil.
func mustNot(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// setField returns a corruption that sets a field of a session's hash.
func setField(rdb redis.UniversalClient, field, value string) func(key string) error {
	return func(key string) error { return rdb.HSet(context.Background(), key, field, value).Err() }
}

// deleteField returns a corruption that deletes a field of a session's hash,
// which keeps a value so that the hash does not go with its last field.
func deleteField(rdb redis.UniversalClient, field string) func(key string) error {
	return func(key string) error {
		ctx := context.Background()
		if err := rdb.HSet(ctx, key, "cart", "[]").Err(); err != nil {
			return err
		}
		return rdb.HDel(ctx, key, field).Err()
	}
}

// deleteErr deletes id from store and returns only the error.
func deleteErr(ctx context.Context, store sessions.Store, id string) error {
	_, err := store.Delete(ctx, id)
	return err
}
