package sqlstore_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	_ "github.com/go-sql-driver/mysql"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// Sessions in a SQLite file next to the application: no server to run,
// and they survive a restart.
func ExampleNew_sqlite() {
	ctx := context.Background()
	db, err := sqlite.Open("sessions.db") // WAL, busy_timeout, synchronous=NORMAL
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // the store never closes the database it was given

	store, err := sqlstore.New(ctx, db, sqlstore.SQLite) // creates the table "sessions" when missing
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithCookieAge(30*time.Minute)))
}

// A SQLite database opened with the driver's own DSN, here with
// synchronous=FULL: every connection of the pool gets the settings, which
// a PRAGMA run through db.Exec would give to one connection only.
func ExampleNew_sqliteDSN() {
	ctx := context.Background()
	// modernc.org/sqlite, registered as "sqlite" by the package sqlstore/sqlite;
	// for github.com/mattn/go-sqlite3 (cgo), "sqlite3" and
	// "file:sessions.db?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL".
	db, err := sql.Open("sqlite", "file:sessions.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}

// Sessions in MySQL 8 or MariaDB, through github.com/go-sql-driver/mysql;
// the DSN may have parseTime=true or not. A short timeout makes a request
// that needs its session answer 503 quickly while the server is away.
func ExampleNew_mysql() {
	ctx := context.Background()
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN")) // user:password@tcp(127.0.0.1:3306)/app?timeout=1s
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	store, err := sqlstore.New(ctx, db, sqlstore.MySQL)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
}

// The statements that create the table, for a migration tool: a table
// made beforehand is used as it is, so the application's database user
// needs only SELECT, INSERT, UPDATE and DELETE on it.
func ExampleSchema() {
	for _, stmt := range sqlstore.Schema(sqlstore.MySQL, "app_sessions") {
		_ = stmt // run it with the migration tool's own connection
	}
}

// A table of its own, cleaned every minute.
func ExampleWithTable() {
	ctx := context.Background()
	db, err := sqlite.Open("app.db")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.SQLite, sqlstore.WithTable("web_sessions"), sqlstore.WithCleanupInterval(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
