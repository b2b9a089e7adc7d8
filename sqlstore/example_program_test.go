package sqlstore_test

import (
	"context"
	"log"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

func Example_program() {
	db, err := sqlite.Open("sessions.db") // WAL, busy_timeout, synchronous=NORMAL; no cgo
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // the store never closes the database it was given

	store, err := sqlstore.New(context.Background(), db, sqlstore.SQLite) // creates its table
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleaner

	r := gin.Default()
	r.Use(sessions.Middleware(store))
	// Add routes, then serve r with an http.Server, as in the quick start.
}
