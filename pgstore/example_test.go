package pgstore_test

import (
	"context"
	"fmt"
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

// The statements that create the store's table, for a migration: run them
// as the table's owner, then grant the application's role what the store
// needs, and New works under that role without creating anything.
func ExampleSchema() {
	for _, stmt := range pgstore.Schema("sessions") {
		fmt.Println(stmt + ";")
	}
	fmt.Println(`GRANT SELECT, INSERT, UPDATE, DELETE ON "sessions" TO app;`)
	// Output:
	// CREATE TABLE IF NOT EXISTS "sessions" (
	// 	id         text COLLATE "C" PRIMARY KEY,
	// 	data       jsonb NOT NULL,
	// 	uuid       text NOT NULL,
	// 	created    timestamptz NOT NULL,
	// 	saved      timestamptz NOT NULL,
	// 	last_seen  timestamptz NOT NULL,
	// 	expires    timestamptz NOT NULL,
	// 	expiry_ns  bigint NOT NULL,
	// 	principal  text NOT NULL DEFAULT '',
	// 	ip         text NOT NULL DEFAULT '',
	// 	user_agent text NOT NULL DEFAULT ''
	// );
	// CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" (expires);
	// CREATE INDEX IF NOT EXISTS "sessions_principal_idx" ON "sessions" (principal, last_seen DESC) WHERE principal <> '';
	// GRANT SELECT, INSERT, UPDATE, DELETE ON "sessions" TO app;
}
