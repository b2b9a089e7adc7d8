package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// newStore returns the store the site keeps its sessions in, and how to
// release it: PostgreSQL when DATABASE_URL is set (postgres://…, in a build
// with the postgres tag), SQLite when SQLITE_PATH is set (a file, created
// when missing, in a build with the sqlite tag), Redis when REDIS_URL is set
// (redis://host:port/db), memory otherwise.
func newStore() (sessions.Store, func(), error) {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		return postgresStore(url)
	}
	if path := os.Getenv("SQLITE_PATH"); path != "" {
		return sqliteStore(path)
	}
	url := os.Getenv("REDIS_URL")
	if url == "" {
		store := sessions.NewMemoryStore()
		return store, func() { store.Close() }, nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// Fail fast when Redis is away: a request that needs its session gets
	// 503 within the timeouts instead of hanging.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, time.Second, time.Second
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Printf("Redis at %s does not answer yet (%v); pages that use the session answer 503 until it does", opt.Addr, err)
	}
	log.Printf("sessions in Redis at %s, db %d", opt.Addr, opt.DB)
	// The store never closes the client it was given: its owner does.
	return sessions.NewRedisStore(rdb), func() { _ = rdb.Close() }, nil
}
