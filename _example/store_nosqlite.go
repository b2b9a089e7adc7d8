//go:build !sqlite

package main

import (
	"errors"

	"github.com/ginsessions/sessions"
)

// sqliteStore is what a build without the sqlite tag has: the SQL store
// lives in a module of its own, so that this one needs no SQLite driver.
func sqliteStore(string) (sessions.Store, func(), error) {
	return nil, nil, errors.New("SQLITE_PATH is set, but this build has no SQLite store: run `make example-sqlite`, or GOWORK=$PWD/sqlstore/example.work go run -tags sqlite ./_example from the repository root")
}
