package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// text is the name as WithTable takes it.
func (t table) text() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
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

// lockKey is the text whose hash names the advisory locks taken for this
// table, purpose saying which one; the prefix keeps them apart from an
// application's own.
func (t table) lockKey(purpose string) string {
	return "github.com/ginsessions/sessions/pgstore " + purpose + " " + t.quoted()
}

// Schema returns the statements that create the table called table ("name"
// or "schema.name", as WithTable takes it) and its indexes: what New runs
// when the table is missing, and what a migration runs to create it
// beforehand. For the default table they are:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		id         text COLLATE "C" PRIMARY KEY,
//		data       jsonb NOT NULL,
//		uuid       text NOT NULL,
//		created    timestamptz NOT NULL,
//		saved      timestamptz NOT NULL,
//		last_seen  timestamptz NOT NULL,
//		expires    timestamptz NOT NULL,
//		expiry_ns  bigint NOT NULL,
//		principal  text NOT NULL DEFAULT '',
//		ip         text NOT NULL DEFAULT '',
//		user_agent text NOT NULL DEFAULT ''
//	)
//	CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" (expires)
//	CREATE INDEX IF NOT EXISTS "sessions_principal_idx" ON "sessions" (principal, last_seen DESC) WHERE principal <> ''
//
// One row per session. id is the SHA-256 digest of the token in hex (never
// the token), compared bytewise (COLLATE "C"), which is all an equality
// lookup needs and cheaper than a language's collation. data holds one JSON
// value per session key. expiry_ns is Session.SetExpiry's policy in
// nanoseconds, whose -1 (expire at browser close) an interval could not
// hold. principal, ip and user_agent are set when a user logs in; principal
// is "" for an anonymous session. The cleaner finds expired rows by the
// index on expires; a user's sessions are found by the one on principal.
//
// The indexes may carry other names: New recognizes them by their columns.
// Schema panics on a name WithTable would refuse.
func Schema(table string) []string {
	return schemaSQL(parseTable(table))
}

// The indexes the store needs, by what they do rather than by name.
var (
	expiresIndexDef   = indexDef{column: "expires", purpose: "the cleaner of expired rows"}
	principalIndexDef = indexDef{column: "principal", predicate: "(principal <> ''::text)", purpose: "listing and revoking a user's sessions"}
)

// indexDef describes an index the store needs: a valid btree index whose
// first column is column, either complete or, when predicate is set,
// partial with that predicate as pg_get_expr prints it.
type indexDef struct {
	column, predicate, purpose string
}

// schemaSQL is Schema for a parsed name.
func schemaSQL(t table) []string {
	return []string{t.createTable(), t.createIndex(expiresIndexDef), t.createIndex(principalIndexDef)}
}

func (t table) createTable() string {
	return `CREATE TABLE IF NOT EXISTS ` + t.quoted() + ` (
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
)`
}

// createIndex is the statement that creates the index d describes, under
// the store's name for it.
func (t table) createIndex(d indexDef) string {
	if d == principalIndexDef {
		// A user's sessions, most recently seen first; anonymous sessions,
		// most of the table, stay out of it.
		return `CREATE INDEX IF NOT EXISTS ` + t.index(principalIndex) + ` ON ` + t.quoted() + ` (principal, last_seen DESC) WHERE principal <> ''`
	}
	return `CREATE INDEX IF NOT EXISTS ` + t.index(expiresIndex) + ` ON ` + t.quoted() + ` (expires)`
}

// createSchema makes sure the table is there and usable, creating what is
// missing. A table that exists is only read about, so that a role that may
// only read and write it (the table made by a migration, say) can use the
// store; its indexes are recognized by their columns, whatever their names.
// When something is missing and cannot be created, or a privilege the
// store needs is lacking, the error says which and what to do.
func createSchema(ctx context.Context, pool *pgxpool.Pool, t table) error {
	var (
		exists          bool
		role, schema    string
		privileges      [4]bool // SELECT, INSERT, UPDATE, DELETE
		expires, byUser bool
	)
	// The first statement is the one that connects: its failure says so.
	err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, current_user, coalesce(current_schema(), '')`, t.quoted()).Scan(&exists, &role, &schema)
	if err != nil {
		if unavailable(err) {
			return storeError("connecting", err)
		}
		return storeError("checking the table "+t.quoted(), err)
	}
	if t.schema != "" {
		schema = t.schema
	}
	if !exists {
		err := create(ctx, pool, t, schemaSQL(t))
		if isPermissionDenied(err) {
			return fmt.Errorf("sessions: postgres: the table %s does not exist, and the role %q may not create it: that needs the CREATE privilege on the schema %q; or create it beforehand with the statements of pgstore.Schema(%q), as a role that may: %w",
				t.quoted(), role, schema, t.text(), err)
		}
		if err != nil {
			return storeError("creating the table "+t.quoted(), err)
		}
		return nil
	}
	err = pool.QueryRow(ctx, `SELECT
	has_table_privilege(to_regclass($1), 'SELECT'), has_table_privilege(to_regclass($1), 'INSERT'),
	has_table_privilege(to_regclass($1), 'UPDATE'), has_table_privilege(to_regclass($1), 'DELETE'),
	coalesce(bool_or(a.attname = $2 AND i.indpred IS NULL), false),
	coalesce(bool_or(a.attname = $3 AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = $4)), false)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = to_regclass($1) AND i.indisvalid`,
		t.quoted(), expiresIndexDef.column, principalIndexDef.column, principalIndexDef.predicate).Scan(
		&privileges[0], &privileges[1], &privileges[2], &privileges[3], &expires, &byUser)
	if err != nil {
		return storeError("checking the table "+t.quoted(), err)
	}
	for i, name := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		if !privileges[i] {
			return fmt.Errorf("sessions: postgres: the role %q lacks the %s privilege on the table %s, which the store needs: GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %s",
				role, name, t.quoted(), t.quoted(), pgx.Identifier{role}.Sanitize())
		}
	}
	for _, need := range []struct {
		def   indexDef
		found bool
	}{{expiresIndexDef, expires}, {principalIndexDef, byUser}} {
		if need.found {
			continue
		}
		stmt := t.createIndex(need.def)
		err := create(ctx, pool, t, []string{stmt})
		if isPermissionDenied(err) {
			return fmt.Errorf("sessions: postgres: the table %s has no index on %s, which %s needs, and the role %q may not create one: only the table's owner may; run as the owner: %s: %w",
				t.quoted(), need.def.column, need.def.purpose, role, stmt, err)
		}
		if err != nil {
			return storeError("creating an index on "+t.quoted(), err)
		}
	}
	return nil
}

// create runs stmts in one transaction under an advisory lock, so that
// processes starting at once do not race: CREATE TABLE IF NOT EXISTS alone
// can fail with a duplicate key when two run together.
func create(ctx context.Context, pool *pgxpool.Pool, t table, stmts []string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, t.lockKey("schema")); err != nil {
			return err
		}
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

// isPermissionDenied reports whether err is PostgreSQL's
// insufficient_privilege.
func isPermissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}
