package sessions_test

import (
	"context"
	"log"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// These examples need a Redis to talk to, so they are compiled but not run;
// the tests in redisstore_test.go run the same code against real servers.

func ExampleNewRedisStore() {
	rdb := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:6379",
		// Fail fast when Redis is away: requests that need their session
		// get 503 within these bounds, or sooner if their context ends.
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close() // the store never closes a client it was given

	r := gin.New()
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb), sessions.WithCookieAge(30*time.Minute)))
}

// Fail fast at start-up when Redis is not there, as pgstore.New does: the
// store itself makes no call until the first request that needs a session.
func ExampleNewRedisStore_failFast() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Fatalf("sessions: Redis at %s is not answering: %v", rdb.Options().Addr, err)
	}

	r := gin.New()
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb)))
}

func ExampleNewRedisStore_sentinel() {
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "mymaster",
		SentinelAddrs: []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
	})
	defer rdb.Close()

	r := gin.New()
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb)))
}

func ExampleNewRedisStore_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"redis-1:6379", "redis-2:6379", "redis-3:6379"},
		// Reread the slot map every second while requests run: a master
		// that died sends no MOVED, and with go-redis's default, a minute,
		// its sessions get 503 that long after a replica took its place.
		ClusterStateReloadInterval: time.Second,
	})
	defer rdb.Close()

	r := gin.New()
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("myapp:session:"))))
}

func ExampleNewRedisStore_universal() {
	// One configuration for every deployment: a MasterName selects Sentinel,
	// several Addrs a Cluster, one Addr a single server.
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:      []string{"sentinel-1:26379", "sentinel-2:26379"},
		MasterName: "mymaster",
	})
	defer rdb.Close()

	r := gin.New()
	r.Use(sessions.Middleware(sessions.NewRedisStore(rdb)))
}
