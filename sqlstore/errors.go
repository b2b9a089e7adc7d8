package sqlstore

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/ginsessions/sessions"
)

// storeError wraps err from op, adding sessions.ErrUnavailable when it
// means the database could not answer rather than refused the statement.
func (d Dialect) storeError(op string, err error) error {
	if d.unavailable(err) {
		return fmt.Errorf("%w: %s %s: %w", sessions.ErrUnavailable, d.lower(), op, err)
	}
	return fmt.Errorf("sessions: %s %s: %w", d.lower(), op, err)
}

func (d Dialect) lower() string {
	if d.kind == kindMySQL {
		return "mysql"
	}
	return "sqlite"
}

// unavailable reports whether err means that the database could not answer
// now. As with the PostgreSQL store, every error that is not the database's
// own answer qualifies: the network, timeouts, the request's context, a
// closed pool. Of the database's answers, those that say it is busy, down
// or out of resources qualify too; a refused statement does not.
//
// The store imports no driver, so it reads the error's code by the shape
// the drivers give it: a Code() int method (modernc.org/sqlite), an
// integer field Code (mattn/go-sqlite3) or Number (go-sql-driver/mysql).
func (d Dialect) unavailable(err error) bool {
	if d.kind == kindMySQL {
		n, ok := errorCode(err, "Number")
		return !ok || slices.Contains(mysqlUnavailable, n)
	}
	code, ok := errorCode(err, "Code")
	// SQLite's extended codes keep the primary code in their low byte.
	return !ok || slices.Contains(sqliteUnavailable, code&0xff)
}

// sqliteUnavailable are the SQLite result codes that mean the file cannot
// be used now: BUSY and LOCKED (another writer held it past the busy
// timeout), NOMEM, READONLY (a file or folder without write permission),
// IOERR, FULL (a full disk), CANTOPEN and PROTOCOL (a WAL lock race).
var sqliteUnavailable = []int64{5, 6, 7, 8, 10, 13, 14, 15}

// mysqlUnavailable are the MySQL and MariaDB error numbers that mean the
// server is there but cannot serve now: too many connections (1040), out of
// memory (1037, 1038), disk full (1021), shutting down (1053), network
// errors (1152 to 1161), a lock wait timeout or a deadlock (1205, 1213),
// an interrupted or timed-out statement (1317, 1969, 3024), a read-only
// server such as a replica not yet promoted (1290, 1836), a killed
// connection (1927) and one dropped for inactivity (4031).
var mysqlUnavailable = []int64{1021, 1037, 1038, 1040, 1053, 1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, 1161,
	1205, 1213, 1290, 1317, 1836, 1927, 1969, 3024, 4031}

// isDeadlock reports whether err is MySQL's "Deadlock found when trying to
// get lock", after which the statement has been rolled back.
func isDeadlock(err error) bool {
	n, ok := errorCode(err, "Number")
	return ok && n == 1213
}

// errorCode finds, in err's chain, a driver error's code: the result of a
// Code() int method, or the integer field named field of a struct.
func errorCode(err error, field string) (int64, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c, ok := e.(interface{ Code() int }); ok {
			return int64(c.Code()), true
		}
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		f := v.FieldByName(field)
		switch {
		case !f.IsValid():
		case f.CanInt():
			return f.Int(), true
		case f.CanUint():
			return int64(f.Uint()), true
		}
	}
	return 0, false
}

// sentinelError is one of the package sessions' errors with context in
// front, the "sessions: " prefix said once: the sentinel's own prefix is
// dropped from the message.
type sentinelError struct {
	msg string
	err error
}

// wrapSentinel returns err with msg, which starts with "sessions: ", in
// front.
func wrapSentinel(msg string, err error) error {
	return &sentinelError{msg: msg, err: err}
}

func (e *sentinelError) Error() string {
	return e.msg + ": " + strings.TrimPrefix(e.err.Error(), "sessions: ")
}

func (e *sentinelError) Unwrap() error { return e.err }
