package pgstore

import (
	"fmt"
	"strings"
)

// statements are the SQL texts of the store's operations on one table. Each
// request-time operation is one of them, so it costs one round trip.
type statements struct {
	load, insert, update, increment, touch, remove, cleanBatch string
	userList, userDelete, userLock                             string
	table                                                      string // quoted, for conditional
}

func newStatements(t table) statements {
	q := t.quoted()
	return statements{
		table: q,
		// $1 id, $2 now.
		load: `SELECT data, ` + recordColumns + ` FROM ` + q + `
WHERE id = $1 AND expires > $2`,

		// A new session replaces any row under its id, in one statement
		// that cannot race with another insert of the same id.
		// $1 id, $2 data, $3 uuid, $4 created, $5 saved, $6 expires, $7 expiry_ns,
		// $8 principal, $9 ip, $10 user_agent.
		insert: `INSERT INTO ` + q + ` AS s (id, data, uuid, created, saved, last_seen, expires, expiry_ns, principal, ip, user_agent)
VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, uuid = EXCLUDED.uuid,
	created = EXCLUDED.created, saved = EXCLUDED.saved, last_seen = EXCLUDED.last_seen,
	expires = EXCLUDED.expires, expiry_ns = EXCLUDED.expiry_ns,
	principal = EXCLUDED.principal, ip = EXCLUDED.ip, user_agent = EXCLUDED.user_agent`,

		// An update applies the delta to the row as it is when the UPDATE
		// gets to it: PostgreSQL re-reads a row that a concurrent save
		// changed meanwhile, so no change is lost. A row that is missing,
		// expired or not an object is not updated: the caller reports that
		// as ErrInterrupted. An IP that is not "" replaces the row's.
		//
		// $1 id, $2 keys to delete, $3 values to set (an object), $4 saved,
		// $5 expires, $6 expiry_ns, $7 now, $8 ip.
		update: `UPDATE ` + q + ` AS s SET data = (s.data - $2::text[]) || $3::jsonb,
	saved = $4, last_seen = $4, expires = $5, expiry_ns = $6, ip = coalesce(nullif($8, ''), s.ip)
WHERE s.id = $1 AND s.expires > $7 AND jsonb_typeof(s.data) = 'object'`,

		// An update with increments, likewise. They are computed
		// here, and only when every one of them lands on an integer (or an
		// absent key) within bigint's range is anything written; otherwise
		// the final SELECT names the keys that are in the way. It is a
		// statement of its own because it costs PostgreSQL more to plan.
		//
		// $1 id, $2 keys to delete, $3 values to set (an object), $4 keys to
		// increment, $5 their deltas, $6 saved, $7 expires, $8 expiry_ns,
		// $9 now, $10 ip.
		increment: `WITH saved AS (
	UPDATE ` + q + ` AS s SET
		data = (s.data - $2::text[]) || $3::jsonb || coalesce((
			SELECT jsonb_object_agg(i.key, (coalesce(s.data->>i.key, '0')::numeric + i.delta)::bigint)
			FROM unnest($4::text[], $5::bigint[]) AS i(key, delta)), '{}'),
		saved = $6, last_seen = $6, expires = $7, expiry_ns = $8, ip = coalesce(nullif($10, ''), s.ip)
	WHERE s.id = $1 AND s.expires > $9 AND jsonb_typeof(s.data) = 'object'
		AND NOT EXISTS (SELECT FROM unnest($4::text[], $5::bigint[]) AS i(key, delta)
			WHERE NOT ` + incrementable("s.data->i.key", "i.delta") + `)
	RETURNING 1
)
SELECT EXISTS (SELECT FROM saved), CASE WHEN EXISTS (SELECT FROM saved) THEN NULL ELSE (
	SELECT array_agg(i.key ORDER BY i.key)
	FROM ` + q + ` AS s, unnest($4::text[], $5::bigint[]) AS i(key, delta)
	WHERE s.id = $1 AND s.expires > $9 AND NOT ` + incrementable("s.data->i.key", "i.delta") + `
) END`,

		// $1 id, $2 seen, $3 expires, $4 now.
		touch: `UPDATE ` + q + ` SET last_seen = $2, expires = $3 WHERE id = $1 AND expires > $4`,

		// A user's live sessions, by the index on principal. The index
		// leaves anonymous sessions out; saying so here lets a generic plan
		// (a prepared statement's, where $1 is unknown) use it too.
		// $1 principal, $2 now.
		userList: `SELECT ` + recordColumns + ` FROM ` + q + `
WHERE principal = $1 AND principal <> '' AND expires > $2`,

		// A user's live sessions that the selection picks, deleted in one
		// statement; the Keep most recently seen are spared.
		// $1 principal, $2 now, $3 the only uuid or "", $4 the spared uuid
		// or "", $5 how many to keep.
		userDelete: `DELETE FROM ` + q + ` WHERE id IN (
	SELECT id FROM ` + q + `
	WHERE principal = $1 AND principal <> '' AND expires > $2 AND ($3 = '' OR uuid = $3) AND ($4 = '' OR uuid <> $4)
	ORDER BY last_seen DESC OFFSET $5
) AND expires > $2
RETURNING uuid`,

		// Serializes the logins of one user under a cap until the end of
		// the transaction, so that each one's DELETE sees the sessions of
		// those before it. $1 principal.
		userLock: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,

		// Whether a live row was there: of concurrent deletes of one row,
		// one finds it. $1 id, $2 now.
		remove: `WITH d AS (DELETE FROM ` + q + ` WHERE id = $1 RETURNING expires)
SELECT EXISTS (SELECT FROM d WHERE expires > $2)`,

		// Up to $2 expired rows, oldest first, by the index on expires;
		// rows that a request holds are skipped, not waited for. A row
		// whose expiry moved since the statement began is no longer
		// expired when its lock is taken, and stays.
		// $1 now, $2 the batch size.
		cleanBatch: `DELETE FROM ` + q + ` WHERE id IN (
	SELECT id FROM ` + q + ` WHERE expires <= $1 ORDER BY expires LIMIT $2 FOR UPDATE SKIP LOCKED
) AND expires <= $1
RETURNING uuid, principal`,
	}
}

// recordColumns are the columns of a sessions.Record but its values, in
// the order of recordFields.
const recordColumns = `uuid, created, saved, last_seen, expires, expiry_ns, principal, ip, user_agent`

// conditional is the statement of a conditional save (Change.Expect) with
// present keys expected to hold a value and absent keys expected absent:
// the update with increments, applied only if every expectation holds.
// The values are compared as jsonb, so that other text of the same value
// (the text Load returned) matches.
//
// Each expectation is a plain comparison on the row, not a subquery:
// PostgreSQL checks the WHERE again on the row as a concurrent save left
// it, and a comparison is checked on that row version, where a NOT EXISTS
// over a list of expectations, planned as an anti-join, can be passed on
// the row the statement first saw. So the text depends on the number of
// expectations, one or two in practice, and each count is prepared once.
//
// When nothing was saved, the final SELECT tells why from the row as the
// statement first saw it: gone, an expectation unmet, a key in an
// increment's way; when none of these shows, a concurrent save changed
// the row meanwhile, which is a conflict too.
//
// $1 to $10 as increment's; from $11, each present key and its expected
// value, then each absent key. It answers saved, live, met and the keys
// in the way.
func (st statements) conditional(present, absent int) string {
	q := st.table
	return `WITH saved AS (
	UPDATE ` + q + ` AS s SET
		data = (s.data - $2::text[]) || $3::jsonb || coalesce((
			SELECT jsonb_object_agg(i.key, (coalesce(s.data->>i.key, '0')::numeric + i.delta)::bigint)
			FROM unnest($4::text[], $5::bigint[]) AS i(key, delta)), '{}'),
		saved = $6, last_seen = $6, expires = $7, expiry_ns = $8, ip = coalesce(nullif($10, ''), s.ip)
	WHERE s.id = $1 AND s.expires > $9 AND jsonb_typeof(s.data) = 'object'
		AND ` + expected("s.data", present, absent) + `
		AND NOT EXISTS (SELECT FROM unnest($4::text[], $5::bigint[]) AS i(key, delta)
			WHERE NOT ` + incrementable("s.data->i.key", "i.delta") + `)
	RETURNING 1
), cur AS (
	SELECT s.data FROM ` + q + ` AS s
	WHERE s.id = $1 AND s.expires > $9 AND jsonb_typeof(s.data) = 'object'
)
SELECT EXISTS (SELECT FROM saved), EXISTS (SELECT FROM cur),
	coalesce((SELECT ` + expected("cur.data", present, absent) + ` FROM cur), false),
	(SELECT array_agg(i.key ORDER BY i.key) FROM cur, unnest($4::text[], $5::bigint[]) AS i(key, delta)
		WHERE NOT ` + incrementable("cur.data->i.key", "i.delta") + `)`
}

// expected is SQL that holds when data holds the expected values of the
// present keys, parameters $11 on in key and value pairs, and none of the
// absent keys that follow them.
func expected(data string, present, absent int) string {
	var b strings.Builder
	b.WriteString("(true")
	p := 11
	for range present {
		fmt.Fprintf(&b, " AND %s->$%d::text = $%d::jsonb", data, p, p+1)
		p += 2
	}
	for range absent {
		fmt.Fprintf(&b, " AND %s->$%d::text IS NULL", data, p)
		p++
	}
	b.WriteString(")")
	return b.String()
}

// incrementable is SQL that holds when the JSON value v is an integer
// written as one (no decimals: 3.0 is a float's text, as Redis's HINCRBY
// sees it) and adding delta keeps it in bigint's range. An absent key (SQL
// NULL) counts as 0. CASE, unlike AND, fixes the order of evaluation, so a
// string is never cast to a number.
func incrementable(v, delta string) string {
	return `(CASE WHEN ` + v + ` IS NULL THEN true
		WHEN jsonb_typeof(` + v + `) <> 'number' THEN false
		ELSE scale((` + v + `)::numeric) = 0
			AND (` + v + `)::numeric + ` + delta + ` BETWEEN -9223372036854775808 AND 9223372036854775807 END)`
}
