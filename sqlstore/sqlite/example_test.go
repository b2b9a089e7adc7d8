package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// The set-up in two lines: Open, then New.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlite.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(context.Background(), db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	var mode string
	var timeout int
	db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	db.QueryRow("PRAGMA busy_timeout").Scan(&timeout)
	fmt.Println(mode, timeout)
	// Output: wal 5000
}
