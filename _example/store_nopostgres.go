//go:build !postgres

package main

import (
	"errors"

	"github.com/ginsessions/sessions"
)

// postgresStore is what a build without the postgres tag has: the
// PostgreSQL store lives in a module of its own, so that this one needs no
// PostgreSQL driver.
func postgresStore(string) (sessions.Store, func(), error) {
	return nil, nil, errors.New("DATABASE_URL is set, but this build has no PostgreSQL store: run `make example-postgres`, or GOWORK=$PWD/pgstore/example.work go run -tags postgres ./_example from the repository root")
}
