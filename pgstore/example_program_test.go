package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/pgstore"
)

func Example_program() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the store never closes the pool it was given

	store, err := pgstore.New(ctx, pool) // creates the table "sessions" when missing
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleaner

	r := gin.Default()
	r.Use(sessions.Middleware(store))
	// Add routes, then serve r with an http.Server, as in the quick start.
}
