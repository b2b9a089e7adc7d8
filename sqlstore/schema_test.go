package sqlstore_test

import (
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions/sqlstore"
)

// TestImpossibleOptionsPanic: each impossible setting panics at New with a
// message that says what is wrong.
func TestImpossibleOptionsPanic(t *testing.T) {
	db, _ := sqliteFile(t)
	tests := []struct {
		name    string
		db      *sql.DB
		dialect sqlstore.Dialect
		opt     sqlstore.Option
		want    string
	}{
		{"nil db", nil, sqlstore.SQLite, sqlstore.WithTable("sessions"), "needs a *sql.DB"},
		{"no dialect", db, sqlstore.Dialect{}, sqlstore.WithTable("sessions"), "needs a Dialect"},
		{"empty table", db, sqlstore.SQLite, sqlstore.WithTable(""), "empty"},
		{"empty schema", db, sqlstore.SQLite, sqlstore.WithTable(".sessions"), "empty"},
		{"two dots", db, sqlstore.SQLite, sqlstore.WithTable("a.b.c"), "at most one dot"},
		{"long name", db, sqlstore.SQLite, sqlstore.WithTable(strings.Repeat("s", 65)), "at most 64 bytes"},
		{"NUL", db, sqlstore.SQLite, sqlstore.WithTable("a\x00b"), "NUL"},
		{"zero interval", db, sqlstore.SQLite, sqlstore.WithCleanupInterval(0), "must be positive"},
		{"negative interval", db, sqlstore.SQLite, sqlstore.WithCleanupInterval(-time.Second), "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %q, want one saying %q", msg, tt.want)
				}
			}()
			store, _ := sqlstore.New(testCtx(t), tt.db, tt.dialect, tt.opt)
			if store != nil {
				store.Close()
			}
		})
	}
}

// TestSchemaIsWhatNewRuns: the statements of Schema, run by hand, make a
// table that New takes as it is, and New on an empty database makes the
// same table and indexes.
func TestSchemaIsWhatNewRuns(t *testing.T) {
	byHand, _ := sqliteFile(t)
	for _, stmt := range sqlstore.Schema(sqlstore.SQLite, "sessions") {
		if _, err := byHand.ExecContext(testCtx(t), stmt); err != nil {
			t.Fatal(err)
		}
	}
	byNew, _ := sqliteFile(t)
	store, err := sqlstore.New(testCtx(t), byNew, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if a, b := sqliteSchema(t, byHand), sqliteSchema(t, byNew); a != b || !strings.Contains(a, "sessions_principal_idx") {
		t.Fatalf("Schema made\n%s\nNew made\n%s", a, b)
	}
}

// sqliteSchema is the SQL of every table and index in db.
func sqliteSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.QueryContext(testCtx(t), "SELECT name, coalesce(sql, '') FROM sqlite_master ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			t.Fatal(err)
		}
		b.WriteString(name + ": " + text + "\n")
	}
	return b.String()
}

// TestTableNames: a name that needs quoting, and one in another schema,
// work, taken as written.
func TestTableNames(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			_, sqldb, _ := open(t)
			for _, name := range []string{"Odd \"name\" `x`; DROP TABLE y --", "main_schema_table"} {
				t.Run(name, func(t *testing.T) {
					full := name
					if name == "main_schema_table" {
						full = map[string]string{"SQLite": "main.", "MariaDB": "test."}[db.name] + name
					}
					store, err := sqlstore.New(testCtx(t), sqldb, dialectOf(db.name), sqlstore.WithTable(full))
					if err != nil {
						t.Fatal(err)
					}
					defer store.Close()
					t.Cleanup(func() { sqldb.Exec("DROP TABLE " + quoteFor(db.name, name)) })
					id := created(t, store, map[string]string{"a": "1"})
					if got := loaded(t, store, id); got["a"] != "1" {
						t.Fatalf("values = %v", got)
					}
				})
			}
		})
	}
}

func dialectOf(name string) sqlstore.Dialect {
	if name == "SQLite" {
		return sqlstore.SQLite
	}
	return sqlstore.MySQL
}

func quoteFor(database, name string) string {
	if database == "SQLite" {
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// TestNewConcurrently: processes that start at once on a new table all
// succeed, each with a pool of its own.
func TestNewConcurrently(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			var open func() *sql.DB
			var table string
			if db.name == "SQLite" {
				_, path := sqliteFile(t)
				table = "sessions"
				open = func() *sql.DB {
					d, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { d.Close() })
					return d
				}
			} else {
				table = uniqueTable(t, openMaria(t, needMaria(t)))
				open = func() *sql.DB { return openMaria(t, needMaria(t)) }
			}
			const n = 6
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				d := open()
				wg.Go(func() {
					store, err := sqlstore.New(testCtx(t), d, dialectOf(db.name), sqlstore.WithTable(table))
					if err == nil {
						store.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("New %d: %v", i, err)
				}
			}
		})
	}
}
