package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultTable is the table's name unless WithTable says otherwise.
const defaultTable = "sessions"

// maxNameBytes keeps the table's name short enough that the names of its
// indexes (the name followed by indexSuffixLen bytes) fit PostgreSQL's
// 63-byte identifiers, which it would otherwise cut silently.
const (
	indexSuffixLen = len(principalIndex)
	maxNameBytes   = 63 - indexSuffixLen
)

// table is the table's name, parsed from WithTable's text.
type table struct {
	schema, name string // schema is "" for the search path's first schema
}

// parseTable splits "schema.name" or "name" and checks the parts, panicking
// with a message that says what to do, as other impossible settings do.
func parseTable(text string) table {
	parts := strings.Split(text, ".")
	if len(parts) > 2 {
		panic(fmt.Sprintf("pgstore: WithTable(%q): want \"table\" or \"schema.table\", with at most one dot", text))
	}
	for _, p := range parts {
		if p == "" {
			panic(fmt.Sprintf("pgstore: WithTable(%q): a part of the name is empty; want \"table\" or \"schema.table\"", text))
		}
		if strings.IndexByte(p, 0) >= 0 {
			panic(fmt.Sprintf("pgstore: WithTable(%q): the name holds a NUL byte", text))
		}
	}
	t := table{name: parts[len(parts)-1]}
	if len(parts) == 2 {
		t.schema = parts[0]
	}
	if len(t.name) > maxNameBytes || len(t.schema) > 63 {
		panic(fmt.Sprintf("pgstore: WithTable(%q): the table's name may have at most %d bytes (its schema's 63), so that its index names fit PostgreSQL's identifiers", text, maxNameBytes))
	}
	return t
}

// quoted is the table's name as SQL text, each part quoted, so that any
// name is safe and keeps its case.
func (t table) quoted() string {
	if t.schema == "" {
		return pgx.Identifier{t.name}.Sanitize()
	}
	return pgx.Identifier{t.schema, t.name}.Sanitize()
}

// The suffixes of the names of the table's indexes.
const (
	expiresIndex   = "_expires_idx"
	principalIndex = "_principal_idx"
)

// index is the quoted name of one of the table's indexes, as CREATE INDEX
// takes it: an index lives in its table's schema, so its name takes none.
func (t table) index(suffix string) string {
	return pgx.Identifier{t.name + suffix}.Sanitize()
}

// qualifiedIndex is the quoted name of one of the table's indexes, with the
// table's schema when it has one, as to_regclass finds it.
func (t table) qualifiedIndex(suffix string) string {
	if t.schema == "" {
		return t.index(suffix)
	}
	return pgx.Identifier{t.schema, t.name + suffix}.Sanitize()
}

// lockKey is the text whose hash names the advisory locks taken for this
// table, purpose saying which one; the prefix keeps them apart from an
// application's own.
func (t table) lockKey(purpose string) string {
	return "github.com/ginsessions/sessions/pgstore " + purpose + " " + t.quoted()
}

// schemaSQL creates the table and its indexes when they are missing.
//
// One row per session. id is the SHA-256 digest of the token in hex (never
// the token), compared bytewise (COLLATE "C"), which is all an equality
// lookup needs and cheaper than a language's collation. data holds one JSON
// value per session key. expiry_ns is Session.SetExpiry's policy in
// nanoseconds, whose -1 (expire at browser close) an interval could not
// hold. principal, ip and user_agent are set when a user logs in; principal
// is "" for an anonymous session.
func schemaSQL(t table) []string {
	q := t.quoted()
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + q + ` (
	id         text COLLATE "C" PRIMARY KEY,
	data       jsonb NOT NULL,
	uuid       text NOT NULL,
	created    timestamptz NOT NULL,
	saved      timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	expires    timestamptz NOT NULL,
	expiry_ns  bigint NOT NULL,
	principal  text NOT NULL DEFAULT '',
	ip         text NOT NULL DEFAULT '',
	user_agent text NOT NULL DEFAULT ''
)`,
		// The cleaner finds expired rows by this index.
		`CREATE INDEX IF NOT EXISTS ` + t.index(expiresIndex) + ` ON ` + q + ` (expires)`,
		// A user's sessions, most recently seen first; anonymous sessions,
		// most of the table, stay out of it.
		`CREATE INDEX IF NOT EXISTS ` + t.index(principalIndex) + ` ON ` + q + ` (principal, last_seen DESC) WHERE principal <> ''`,
	}
}

// createSchema runs schemaSQL in one transaction under an advisory lock, so
// that processes starting at once do not race: CREATE TABLE IF NOT EXISTS
// alone can fail with a duplicate key when two run together. When the table
// and its indexes exist it runs nothing, so that a role without the right
// to create tables (the table made by a migration, say) can use the store.
func createSchema(ctx context.Context, pool *pgxpool.Pool, t table) error {
	var exists bool
	err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL`,
		t.quoted(), t.qualifiedIndex(expiresIndex), t.qualifiedIndex(principalIndex)).Scan(&exists)
	if err != nil || exists {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, t.lockKey("schema")); err != nil {
			return err
		}
		for _, stmt := range schemaSQL(t) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}
