package sqlstore

import (
	"strings"

	"github.com/ginsessions/sessions"
)

// statements are the SQL texts of the store's operations on one table. Each
// request-time operation is one of them, so it costs one round trip; a save
// that changes keys is built per change (see update), as the database's
// JSON functions take one path per key.
type statements struct {
	dialect                                       Dialect
	table                                         string
	load, insert, touch, remove, live, cleanBatch string
	lock, liveLocked                              string
	userList, userDelete                          string
}

// recordColumns are the columns of a sessions.Record but its values, in
// the order of recordFields.
const recordColumns = `uuid, created, saved, last_seen, expires, expiry_ns, principal, ip, user_agent`

func newStatements(d Dialect, t table) statements {
	q := t.quoted(d)
	st := statements{
		dialect: d,
		table:   q,

		// id, now.
		load: `SELECT data, ` + recordColumns + ` FROM ` + q + ` WHERE id = ? AND expires > ?`,

		// The row's data, for telling why an update changed nothing.
		// id, now.
		live: `SELECT data FROM ` + q + ` WHERE id = ? AND expires > ?`,

		// seen, expires, id, now.
		touch: `UPDATE ` + q + ` SET last_seen = ?, expires = ? WHERE id = ? AND expires > ?`,

		// The live row, whose count tells whether Delete found it. An
		// expired row is left to the cleaner. id, now.
		remove: `DELETE FROM ` + q + ` WHERE id = ? AND expires > ?`,

		// A user's live sessions, by the index on principal, which leaves
		// anonymous sessions out: saying so lets SQLite use it.
		// principal, now.
		userList: `SELECT ` + recordColumns + ` FROM ` + q + ` WHERE principal = ? AND principal <> '' AND expires > ?`,
	}
	// A new session replaces any row under its id, in one statement that
	// cannot race with another insert of the same id.
	// id, data, uuid, created, saved, last_seen, expires, expiry_ns,
	// principal, ip, user_agent.
	insert := `INSERT INTO ` + q + ` (id, data, ` + recordColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// The user's live sessions that the selection picks, the Keep most
	// recently seen spared, in the order of the listing.
	// principal, now, the only uuid or "" (twice), the spared uuid or ""
	// (twice), how many to keep.
	picked := func(columns string) string {
		return `SELECT ` + columns + ` FROM ` + q + ` WHERE principal = ? AND principal <> '' AND expires > ?
	AND (? = '' OR uuid = ?) AND (? = '' OR uuid <> ?)
	ORDER BY last_seen DESC, created DESC, uuid`
	}
	switch d.kind {
	case kindSQLite:
		// A write that changes nothing, as a transaction's first
		// statement: it takes the database's write lock, which the
		// transaction then holds, and its reads see the latest commit.
		// id.
		st.lock = `UPDATE ` + q + ` SET expires = expires WHERE id = ?`
		// id, now.
		st.liveLocked = st.live
		st.insert = insert + ` ON CONFLICT (id) DO UPDATE SET ` + assignAll(func(c string) string { return "excluded." + c })
		// One statement, so one write transaction: a login that
		// creates a session meanwhile comes before or after it. It
		// returns the UUIDs it deleted.
		st.userDelete = `DELETE FROM ` + q + ` WHERE id IN (` + picked("id") + ` LIMIT -1 OFFSET ?) RETURNING uuid`
		// Up to a batch of expired rows, oldest first, by the index on
		// expires, returned as they are deleted. now, the batch size.
		st.cleanBatch = `DELETE FROM ` + q + ` WHERE id IN (SELECT id FROM ` + q + ` WHERE expires <= ? ORDER BY expires LIMIT ?)
	RETURNING id, uuid, principal`
	case kindMySQL:
		// The row's data, locked until the end of the transaction, for a
		// conditional save. id, now.
		st.liveLocked = st.live + ` FOR UPDATE`
		st.insert = insert + ` ON DUPLICATE KEY UPDATE ` + assignAll(func(c string) string { return "VALUES(" + c + ")" })
		// MySQL 8 has no DELETE ... RETURNING: the rows a deletion of a
		// user's sessions deletes are picked and locked, with the range
		// of the user's index they lie in, so that a login waits for the
		// deletion, then deleted by their ids (see deleteIDs).
		st.userDelete = picked("id, uuid") + ` LIMIT 18446744073709551615 OFFSET ? FOR UPDATE`
		// Up to a batch of expired rows, oldest first, by the index on
		// expires, locked; rows a request holds are skipped rather than
		// waited for, and left to the next run. now, the batch size.
		st.cleanBatch = `SELECT id, uuid, principal FROM ` + q + ` WHERE expires <= ? ORDER BY expires LIMIT ? FOR UPDATE SKIP LOCKED`
	}
	return st
}

// assignAll sets every column of a row but its id to value(column), for an
// insert that replaces a row.
func assignAll(value func(column string) string) string {
	columns := append([]string{"data"}, strings.Split(recordColumns, ", ")...)
	set := make([]string, len(columns))
	for i, c := range columns {
		set[i] = c + " = " + value(c)
	}
	return strings.Join(set, ", ")
}

// update returns the UPDATE that applies ch to the live row id, and its
// arguments: the keys deleted, then set, then incremented, each addressed
// by its path, in one expression over the row's data as it is when the
// UPDATE gets to it, so that no concurrent change is lost. The increments
// are checked in its WHERE clause: when one lands on a value that is not an
// integer, or leaves the int64 range, no row is updated; so too for a row
// that is missing, expired or whose data is not a JSON object. An IP that
// is not "" replaces the row's.
//
// On SQLite, the expectations of a conditional save (ch.Expect) are
// checked in the WHERE clause too: a key expected absent must have no
// JSON type, and one expected to hold a value must hold the same JSON text
// once both are minified (data -> path, and json() of the expected text,
// which Load returned from the same data). On MySQL the caller checks them
// in a transaction (see Store.conditionalMySQL) and ch.Expect is ignored.
func (st statements) update(id string, ch sessions.Change, now int64) (string, []any) {
	mysql := st.dialect.kind == kindMySQL
	set := ch.Set
	var (
		b    strings.Builder
		args = make([]any, 0, 10+2*len(ch.Delete)+2*len(set)+5*len(ch.Incr))
	)
	b.WriteString(`UPDATE ` + st.table + ` SET data = `)
	data := "data"
	if len(ch.Delete) > 0 && !mysql {
		var r strings.Builder
		r.WriteString("json_remove(" + data)
		for _, k := range ch.Delete {
			r.WriteString(", ?")
			args = append(args, keyPath(k))
		}
		r.WriteByte(')')
		data = r.String()
	}
	if len(ch.Delete) > 0 && mysql {
		// One path per call: MariaDB 10.11's JSON_REMOVE with several
		// paths leaves some members in place.
		data = strings.Repeat("JSON_REMOVE(", len(ch.Delete)) + data + strings.Repeat(", ?)", len(ch.Delete))
		for _, k := range ch.Delete {
			args = append(args, keyPath(k))
		}
	}
	if len(set)+len(ch.Incr) > 0 {
		b.WriteString(pick(mysql, "JSON_SET(", "json_set("))
	}
	b.WriteString(data)
	for k, v := range set {
		// The value is JSON text, to be taken as JSON, not as a string.
		b.WriteString(pick(mysql, ", ?, JSON_EXTRACT(?, '$')", ", ?, json(?)"))
		args = append(args, keyPath(k), v)
	}
	for k, d := range ch.Incr {
		p := keyPath(k)
		// The WHERE clause has checked that the sum fits.
		b.WriteString(pick(mysql,
			", ?, CAST(COALESCE(CAST(JSON_EXTRACT(data, ?) AS DECIMAL(65,0)), 0) + ? AS SIGNED)",
			", ?, coalesce(json_extract(data, ?), 0) + ?"))
		args = append(args, p, p, d)
	}
	if len(set)+len(ch.Incr) > 0 {
		b.WriteByte(')')
	}
	b.WriteString(`, saved = ?, last_seen = ?, expires = ?, expiry_ns = ?, ip = CASE WHEN ? = '' THEN ip ELSE ? END
WHERE id = ? AND expires > ? AND `)
	ip := storableText(ch.IP)
	saved := micros(ch.Saved)
	args = append(args, saved, saved, micros(ch.Expires), int64(ch.Expiry), ip, ip, id, now)
	// Each function of the data runs only on valid JSON: CASE, unlike
	// AND, fixes the order of evaluation.
	b.WriteString(pick(mysql, "(CASE WHEN JSON_VALID(data) THEN JSON_TYPE(data) = 'OBJECT'", "(CASE WHEN json_valid(data) THEN json_type(data) = 'object'"))
	for k, d := range ch.Incr {
		p := keyPath(k)
		if mysql {
			b.WriteString(` AND (CASE JSON_TYPE(JSON_EXTRACT(data, ?)) WHEN 'INTEGER'
		THEN CAST(JSON_EXTRACT(data, ?) AS DECIMAL(65,0)) + ? BETWEEN -9223372036854775808 AND 9223372036854775807
		ELSE JSON_EXTRACT(data, ?) IS NULL END)`)
		} else {
			// SQLite turns an integer sum that overflows into a real.
			b.WriteString(` AND (CASE json_type(data, ?) WHEN 'integer'
		THEN typeof(json_extract(data, ?) + ?) = 'integer'
		ELSE json_type(data, ?) IS NULL END)`)
		}
		args = append(args, p, p, d, p)
	}
	if !mysql {
		for k, v := range ch.Expect {
			if v == "" {
				b.WriteString(` AND json_type(data, ?) IS NULL`)
				args = append(args, keyPath(k))
			} else {
				b.WriteString(` AND (data -> ?) = json(?)`)
				args = append(args, keyPath(k), v)
			}
		}
	}
	b.WriteString(pick(mysql, " ELSE FALSE END)", " ELSE 0 END)"))
	return b.String(), args
}

func pick(mysql bool, ifMySQL, ifSQLite string) string {
	if mysql {
		return ifMySQL
	}
	return ifSQLite
}
