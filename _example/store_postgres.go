//go:build postgres

package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/pgstore"
)

// postgresStore keeps the sessions in PostgreSQL at url, in the table
// "sessions", which it creates when missing.
func postgresStore(url string) (sessions.Store, func(), error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	// Fail fast when PostgreSQL is away, and cancel on the server a
	// statement whose request gave up.
	cfg.ConnConfig.ConnectTimeout = time.Second
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store, err := pgstore.New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	log.Printf("sessions in PostgreSQL at %s, database %s", cfg.ConnConfig.Host, cfg.ConnConfig.Database)
	// The store never closes the pool it was given: its owner does.
	return store, func() { store.Close(); pool.Close() }, nil
}
