//go:build sqlite

package main

import (
	"context"
	"log"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sqlstore"
	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// sqliteStore keeps the sessions in the SQLite file at path, created when
// missing, in the table "sessions", which it creates when missing: sessions
// that survive a restart of the site with no server to run.
func sqliteStore(path string) (sessions.Store, func(), error) {
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	log.Printf("sessions in SQLite at %s", path)
	// The store never closes the database it was given: its owner does.
	return store, func() { store.Close(); db.Close() }, nil
}
