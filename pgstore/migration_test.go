package pgstore_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/pgtest"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// restrictedRole creates a role that may log in and nothing else, dropped
// when t ends, and returns its name and a pool that connects as it.
func restrictedRole(t *testing.T, admin *pgxpool.Pool, suffix string) (string, *pgxpool.Pool) {
	t.Helper()
	role := "pgstore_app_" + suffix
	if _, err := admin.Exec(testCtx(t), "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Skipf("cannot create a role on this server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.Exec(ctx, "DROP OWNED BY "+role+"; DROP ROLE "+role)
	})
	cfg, err := pgxpool.ParseConfig(needServer(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User = role
	pool, err := pgxpool.NewWithConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return role, pool
}

// run runs each statement as the admin, failing t on an error.
func run(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := pool.Exec(testCtx(t), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// TestNewOnMigratedTable starts the store as a role that may only read and
// write a table that a migration made: from Schema's statements, or with
// indexes of its own names, or with something missing. Where the store can
// work it serves a site through gin and creates nothing; where it cannot,
// New's error names the object and the privilege.
func TestNewOnMigratedTable(t *testing.T) {
	tests := []struct {
		name    string
		migrate func(q string) []string // the migration's statements on the quoted table q
		grant   string                  // what the role may do on it
		wantErr []string                // what New's error must name; nil: New works
	}{
		{
			name:    "Schema's statements",
			grant:   "SELECT, INSERT, UPDATE, DELETE",
			migrate: nil, // Schema
		},
		{
			name: "indexes of other names",
			migrate: func(q string) []string {
				return []string{
					strings.Replace(pgstore.Schema("placeholder")[0], `"placeholder"`, q, 1),
					`CREATE INDEX my_cleanup_idx ON ` + q + ` (expires)`,
					`CREATE INDEX my_user_idx ON ` + q + ` (principal, last_seen DESC) WHERE principal <> ''`,
				}
			},
			grant: "SELECT, INSERT, UPDATE, DELETE",
		},
		{
			name: "a complete index on principal",
			migrate: func(q string) []string {
				return []string{
					strings.Replace(pgstore.Schema("placeholder")[0], `"placeholder"`, q, 1),
					`CREATE INDEX my_cleanup_idx ON ` + q + ` (expires)`,
					`CREATE INDEX my_user_idx ON ` + q + ` (principal)`,
				}
			},
			grant: "SELECT, INSERT, UPDATE, DELETE",
		},
		{
			name:    "no DELETE privilege",
			grant:   "SELECT, INSERT, UPDATE",
			wantErr: []string{"DELETE privilege", "on the table", "GRANT SELECT, INSERT, UPDATE, DELETE"},
		},
		{
			name: "no index on expires",
			migrate: func(q string) []string {
				return []string{
					strings.Replace(pgstore.Schema("placeholder")[0], `"placeholder"`, q, 1),
					`CREATE INDEX my_user_idx ON ` + q + ` (principal, last_seen DESC) WHERE principal <> ''`,
					`CREATE INDEX my_other_idx ON ` + q + ` (last_seen, expires)`, // expires, but not first
				}
			},
			grant:   "SELECT, INSERT, UPDATE, DELETE",
			wantErr: []string{"no index on expires", "owner", "CREATE INDEX"},
		},
	}
	admin := newPool(t, needServer(t), nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := uniqueTable(t, admin)
			q := pgx.Identifier{table}.Sanitize()
			stmts := pgstore.Schema(table)
			if tt.migrate != nil {
				stmts = tt.migrate(q)
			}
			run(t, admin, stmts...)
			role, pool := restrictedRole(t, admin, strings.TrimPrefix(table, "sessions_test_")+string(rune('a'+i)))
			run(t, admin, "GRANT "+tt.grant+" ON "+q+" TO "+role)
			before := indexes(t, admin, "public", table)

			store, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(table))
			if tt.wantErr != nil {
				if err == nil {
					store.Close()
					t.Fatal("New worked; want an error")
				}
				for _, want := range append(tt.wantErr, q, role) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("New: %v\nwant it to name %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("New as a role that may only read and write: %v", err)
			}
			defer store.Close()
			h := engine(store)
			cookie := sessionCookie(t, get(h, "/counter", nil))
			if w := get(h, "/counter", cookie); w.Code != http.StatusOK || w.Body.String() != "2" {
				t.Fatalf("second visit: %d %q, want 200 2", w.Code, w.Body.String())
			}
			if w := get(h, "/flush", cookie); w.Code != http.StatusOK {
				t.Fatalf("logout: %d %q", w.Code, w.Body.String())
			}
			if got := indexes(t, admin, "public", table); strings.Join(got, " ") != strings.Join(before, " ") {
				t.Fatalf("indexes = %v, were %v: New created some", got, before)
			}
		})
	}
}

// TestNewCannotCreateTable: a role that may not create the missing table
// gets an error naming the table, the privilege and the schema.
func TestNewCannotCreateTable(t *testing.T) {
	admin := newPool(t, needServer(t), nil)
	table := uniqueTable(t, admin)
	schema := table + "_schema"
	run(t, admin, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	role, pool := restrictedRole(t, admin, strings.TrimPrefix(table, "sessions_test_"))
	run(t, admin, "GRANT USAGE ON SCHEMA "+schema+" TO "+role)

	store, err := pgstore.New(testCtx(t), pool, pgstore.WithTable(schema+".sessions"))
	if err == nil {
		store.Close()
		t.Fatal("New worked; want an error")
	}
	for _, want := range []string{`"sessions" does not exist`, role, "CREATE privilege", schema, "pgstore.Schema"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v\nwant it to name %q", err, want)
		}
	}
	if errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("New: %v wraps ErrUnavailable; the server answered", err)
	}
}

// TestNewServerDown: a server that is down is a connection failure, said
// as one.
func TestNewServerDown(t *testing.T) {
	srv := pgtest.Start(t)
	pool := newPool(t, srv.URL, nil)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := pgstore.New(ctx, pool)
	if !errors.Is(err, sessions.ErrUnavailable) || !strings.Contains(err.Error(), "connecting") || strings.Contains(err.Error(), "creating") {
		t.Fatalf("New with the server down: %v, want ErrUnavailable, saying connecting, not creating", err)
	}
}

// TestSchemaIsWhatNewRuns: New on a new table creates exactly what Schema
// says: the same columns and index definitions.
func TestSchemaIsWhatNewRuns(t *testing.T) {
	_, pool, table := newStore(t)
	other := uniqueTable(t, pool)
	run(t, pool, pgstore.Schema(other)...)
	def := func(name string) string {
		rows, err := pool.Query(testCtx(t), `SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || coalesce(collation_name, '')
FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, name)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		rows, err = pool.Query(testCtx(t), `SELECT replace(indexdef, $1, 'T') FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, name)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(append(cols, idx...), "\n")
	}
	if a, b := def(table), def(other); a != b {
		t.Fatalf("New made\n%s\nSchema makes\n%s", a, b)
	}
}
