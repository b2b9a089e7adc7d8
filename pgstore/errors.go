package pgstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ginsessions/sessions"
	"github.com/jackc/pgx/v5/pgconn"
)

// storeError wraps err from op, adding sessions.ErrUnavailable when it means
// PostgreSQL could not answer rather than refused the statement.
func storeError(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: postgres %s: %w", sessions.ErrUnavailable, op, err)
	}
	return fmt.Errorf("sessions: postgres %s: %w", op, err)
}

// unavailableClasses are the SQLSTATE classes and codes that mean the server
// is there but cannot serve now: connection exceptions (08), insufficient
// resources such as too many connections or a full disk (53), operator
// intervention such as a shutdown, a restart or a cancelled statement after
// statement_timeout (57), system errors (58), and a read-only server, which
// a standby that has not been promoted yet is (25006).
var unavailableClasses = []string{"08", "53", "57", "58", "25006"}

// unavailable reports whether err means that PostgreSQL could not be
// reached or cannot serve. Every error that is not the server's answer
// qualifies: the network, timeouts, the request's context, a closed pool.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	for _, prefix := range unavailableClasses {
		if strings.HasPrefix(pgErr.Code, prefix) {
			return true
		}
	}
	return false
}

// sentinelError puts context in front of one of package sessions' errors,
// whose message starts with "sessions: " too: the prefix is said once.
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
