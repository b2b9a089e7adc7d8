package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The setup of docs/postgres.md: a pool that gives up quickly when PostgreSQL is away
// and cancels on the server a statement whose request gave up, and the
// store on it.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the store never closes the pool it was given

	store, err := pgstore.New(ctx, pool) // creates the table "sessions" when missing
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleaner

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieAge(30*time.Minute)))
}

// A table of its own in a schema of its own, cleaned every minute.
func ExampleWithTable() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, pgstore.WithTable("myapp.sessions"), pgstore.WithCleanupInterval(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleaner
}
