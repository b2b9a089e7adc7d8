package sessions_test

import (
	"context"
	"log"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

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
