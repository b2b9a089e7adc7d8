package sqlstore

import (
	"context"
	"fmt"
	"strings"
)

// defaultTable is the table's name unless WithTable says otherwise.
const defaultTable = "sessions"

// maxNameBytes is MySQL's limit on the length of a name.
const maxNameBytes = 64

// table is the table's name, parsed from WithTable's text.
type table struct {
	schema, name string // schema is "" for the connection's own
}

// parseTable splits "schema.name" or "name" and checks the parts, panicking
// with a message that says what to do, as other impossible settings do.
func parseTable(text string) table {
	parts := strings.Split(text, ".")
	if len(parts) > 2 {
		panic(fmt.Sprintf("sqlstore: WithTable(%q): want \"table\" or \"schema.table\", with at most one dot", text))
	}
	for _, p := range parts {
		if p == "" {
			panic(fmt.Sprintf("sqlstore: WithTable(%q): a part of the name is empty; want \"table\" or \"schema.table\"", text))
		}
		if strings.IndexByte(p, 0) >= 0 {
			panic(fmt.Sprintf("sqlstore: WithTable(%q): the name holds a NUL byte", text))
		}
		if len(p) > maxNameBytes {
			panic(fmt.Sprintf("sqlstore: WithTable(%q): a part of the name may have at most %d bytes", text, maxNameBytes))
		}
	}
	t := table{name: parts[len(parts)-1]}
	if len(parts) == 2 {
		t.schema = parts[0]
	}
	return t
}

// quoted is the table's name as SQL text, each part quoted, so that any
// name is safe and keeps its case.
func (t table) quoted(d Dialect) string {
	if t.schema == "" {
		return d.quote(t.name)
	}
	return d.quote(t.schema) + "." + d.quote(t.name)
}

// sqliteIndex is the quoted name of one of the table's indexes on SQLite,
// where an index's name is unique in its schema, so it starts with the
// table's; CREATE INDEX takes it with the table's schema.
func (t table) sqliteIndex(suffix string) string {
	name := SQLite.quote(t.name + suffix)
	if t.schema == "" {
		return name
	}
	return SQLite.quote(t.schema) + "." + name
}

// Schema returns the statements that create table (a name as WithTable
// takes it) and its indexes in a database of dialect d when they are
// missing: what New runs, for a migration tool. It panics as WithTable does
// on an impossible name, and on the zero Dialect.
//
// The table has one row per session:
//
//	id          the SHA-256 digest of the token, in hex; never the token
//	data        one JSON object, a member per session key: {"greeting":"Hello","num_visits":3}
//	uuid        the session's public handle (Session.UUID)
//	created     first save            \
//	saved       last save              | Unix time in microseconds (integers, so
//	last_seen   last save or touch     | that no driver setting or time zone
//	expires     when the session ends /  changes them); the row is deleted after expires
//	expiry_ns   Session.SetExpiry's policy in nanoseconds
//	principal, ip, user_agent   the user bound at login ("" when anonymous)
//
// with an index on expires for the cleaner and one on principal and
// last_seen for a user's sessions.
func Schema(d Dialect, table string) []string {
	return schemaSQL(d, parseTable(table))
}

func schemaSQL(d Dialect, t table) []string {
	q := t.quoted(d)
	switch d.kind {
	case kindSQLite:
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + q + ` (
	id         TEXT NOT NULL PRIMARY KEY,
	data       TEXT NOT NULL,
	uuid       TEXT NOT NULL,
	created    INTEGER NOT NULL,
	saved      INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	expiry_ns  INTEGER NOT NULL,
	principal  TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
)`,
			// The cleaner finds expired rows by this index.
			`CREATE INDEX IF NOT EXISTS ` + t.sqliteIndex("_expires_idx") + ` ON ` + d.quote(t.name) + ` (expires)`,
			// A user's sessions, most recently seen first; anonymous
			// sessions, most of the table, stay out of it.
			`CREATE INDEX IF NOT EXISTS ` + t.sqliteIndex("_principal_idx") + ` ON ` + d.quote(t.name) + ` (principal, last_seen DESC) WHERE principal <> ''`,
		}
	case kindMySQL:
		// id is bytes, compared as such; data is text in a binary
		// collation, not MySQL's JSON type, which would turn a number
		// into a double on the way in. An index name belongs to its
		// table here, so it needs no prefix.
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + q + ` (
	id         VARBINARY(128) NOT NULL PRIMARY KEY,
	data       LONGTEXT NOT NULL,
	uuid       VARCHAR(64) NOT NULL,
	created    BIGINT NOT NULL,
	saved      BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	expires    BIGINT NOT NULL,
	expiry_ns  BIGINT NOT NULL,
	principal  VARCHAR(255) NOT NULL DEFAULT '',
	ip         VARCHAR(64) NOT NULL DEFAULT '',
	user_agent VARCHAR(512) NOT NULL DEFAULT '',
	KEY expires_idx (expires),
	KEY principal_idx (principal, last_seen)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		}
	}
	panic("sqlstore: Schema needs a Dialect: pass sqlstore.SQLite or sqlstore.MySQL")
}

// createTable runs Schema's statements unless the table is there: a SELECT
// of its columns that finds no row tells, so that a user without the right
// to create tables (the table made by a migration, say) can use the store.
// CREATE ... IF NOT EXISTS makes processes that start at once safe: on
// SQLite they take turns at the file's write lock, and MySQL's CREATE TABLE
// is one atomic statement.
func (s *Store) createTable(ctx context.Context) error {
	probe := `SELECT ` + recordColumns + `, data FROM ` + s.table.quoted(s.dialect) + ` WHERE 1 = 0`
	rows, err := s.db.QueryContext(ctx, probe)
	if err == nil {
		return rows.Close()
	}
	if s.dialect.unavailable(err) {
		return s.dialect.storeError("reading the table "+s.table.quoted(s.dialect), err)
	}
	for _, stmt := range schemaSQL(s.dialect, s.table) {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return s.dialect.storeError("creating the table "+s.table.quoted(s.dialect), err)
		}
	}
	return nil
}
