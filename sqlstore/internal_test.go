package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
)

// The shapes of the drivers' errors, as the store reads them without
// importing the drivers.
type (
	moderncError struct{ code int } // modernc.org/sqlite: a Code() method
	mattnError   struct{ Code int } // mattn/go-sqlite3: a Code field
	mysqlError   struct{ Number uint16 }
)

func (e *moderncError) Error() string { return "sqlite error " + strconv.Itoa(e.code) }
func (e *moderncError) Code() int     { return e.code }
func (e mattnError) Error() string    { return "sqlite3 error " + strconv.Itoa(e.Code) }
func (e *mysqlError) Error() string   { return "Error " + strconv.Itoa(int(e.Number)) }

// TestUnavailable: which errors are outages (503) and which are refusals.
func TestUnavailable(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		err     error
		want    bool
	}{
		{"sqlite busy", SQLite, &moderncError{5}, true},
		{"sqlite busy snapshot, extended", SQLite, &moderncError{5 | 2<<8}, true},
		{"sqlite full disk, wrapped", SQLite, fmt.Errorf("exec: %w", &moderncError{13}), true},
		{"sqlite read-only file", SQLite, mattnError{8}, true},
		{"sqlite I/O error", SQLite, mattnError{10 | 3<<8}, true},
		{"sqlite syntax error", SQLite, &moderncError{1}, false},
		{"sqlite constraint", SQLite, mattnError{19}, false},
		{"closed database", SQLite, sql.ErrConnDone, true},
		{"deadline", SQLite, context.DeadlineExceeded, true},
		{"mysql server gone", MySQL, driver.ErrBadConn, true},
		{"mysql deadlock", MySQL, &mysqlError{1213}, true},
		{"mysql lock wait timeout", MySQL, &mysqlError{1205}, true},
		{"mysql shutting down", MySQL, &mysqlError{1053}, true},
		{"mysql read-only", MySQL, fmt.Errorf("x: %w", &mysqlError{1290}), true},
		{"mysql too many connections", MySQL, &mysqlError{1040}, true},
		{"mysql syntax", MySQL, &mysqlError{1064}, false},
		{"mysql data too long", MySQL, &mysqlError{1406}, false},
		{"mysql access denied", MySQL, &mysqlError{1142}, false},
		{"nil pointer of a driver's type", MySQL, (*mysqlError)(nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.dialect.unavailable(tt.err); got != tt.want {
				t.Fatalf("unavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if !isDeadlock(fmt.Errorf("save: %w", &mysqlError{1213})) || isDeadlock(&mysqlError{1205}) || isDeadlock(errors.New("Error 1213")) {
		t.Fatal("isDeadlock is wrong")
	}
}

// TestKeyPath: a key is quoted and escaped as a JSON string, with the
// fewest escapes, so that a row's object and a path spell it alike.
func TestKeyPath(t *testing.T) {
	tests := []struct{ key, want string }{
		{"a", `$."a"`},
		{"", `$.""`},
		{"a.b", `$."a.b"`},
		{`q"\`, `$."q\"\\"`},
		{"new\nline\x01", `$."new\u000aline\u0001"`},
		{"<é☃>&", `$."<é☃>&"`},
	}
	for _, tt := range tests {
		if got := keyPath(tt.key); got != tt.want {
			t.Errorf("keyPath(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

// TestIncrementable: what the store names as in the way after the
// database refused an increment.
func TestIncrementable(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
		delta int64
		want  bool
	}{
		{"", false, 5, true},
		{"7", true, 1, true},
		{strconv.FormatInt(math.MaxInt64, 10), true, 1, false},
		{strconv.FormatInt(math.MinInt64, 10), true, -1, false},
		{strconv.FormatInt(math.MinInt64, 10), true, 1, true},
		{"1.5", true, 1, false},
		{"3.0", true, 1, false},
		{`"12"`, true, 1, false},
		{"null", true, 1, false},
		{"99999999999999999999", true, -1, false},
	}
	for _, tt := range tests {
		if got := incrementable(tt.value, tt.ok, tt.delta); got != tt.want {
			t.Errorf("incrementable(%q, %v, %d) = %v, want %v", tt.value, tt.ok, tt.delta, got, tt.want)
		}
	}
}
