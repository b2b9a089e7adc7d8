package pgstore_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/pgtest"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// recoverWithin bounds how many requests may fail after the server is back
// before the test gives up: the pool may still hold a connection that died
// with the old server.
const recoverWithin = 5

// TestOutage stops the server under a running site: a request that needs
// its session gets 503, one that never touches it still gets 200, and once
// the server is back the same process serves the session again, its data
// intact.
func TestOutage(t *testing.T) {
	srv := pgtest.Start(t) // a server of its own, even with PG_URL: it is stopped
	pool := newPool(t, srv.URL, nil)
	store, err := pgstore.New(testCtx(t), pool, pgstore.WithTable("sessions"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := engine(store)
	first := get(h, "/counter", nil)
	cookie := sessionCookie(t, first)
	if w := get(h, "/counter", cookie); w.Body.String() != "2" {
		t.Fatalf("second visit: %d %q, want 2", w.Code, w.Body.String())
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/counter", "/read", "/new"} {
		if w := get(h, path, cookie); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s with the server down: %d %q, want 503", path, w.Code, w.Body.String())
		}
	}
	if w := get(h, "/untouched", cookie); w.Code != http.StatusOK {
		t.Fatalf("/untouched with the server down: %d, want 200", w.Code)
	}
	_, _, err = store.Load(testCtx(t), rowID(cookie))
	if !errors.Is(err, sessions.ErrUnavailable) {
		t.Fatalf("Load with the server down: %v, want ErrUnavailable", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		w := get(h, "/counter", cookie)
		if w.Code == http.StatusOK {
			if w.Body.String() != "3" {
				t.Fatalf("first visit after the restart: %q, want 3", w.Body.String())
			}
			t.Logf("served again at attempt %d", attempt)
			return
		}
		if attempt == recoverWithin {
			t.Fatalf("still %d %q after %d requests with the server back", w.Code, w.Body.String(), attempt)
		}
	}
}

// TestTimeoutIsUnavailable holds a session's row locked so that the
// counter's UPDATE waits: when the request's deadline passes, the answer is
// 503. With pgx's default, the connection is dropped but the server goes on
// waiting, and may save the change once the row is free; with a pool that
// sends PostgreSQL a cancel request, as docs/postgres.md advises, the statement is
// cancelled and the session stays as it was.
func TestTimeoutIsUnavailable(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*pgxpool.Config)
		unchanged bool
	}{
		{"pgx default", func(*pgxpool.Config) {}, false},
		{"cancel request", cancelOnTimeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(needServer(t))
			if err != nil {
				t.Fatal(err)
			}
			tt.configure(cfg)
			pool, err := pgxpool.NewWithConfig(testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close) // after the table is dropped
			store, _, table := newStoreOn(t, pool)
			h := engine(store)
			cookie := sessionCookie(t, get(h, "/counter", nil))

			tx := holding(t, pool, "SELECT FROM "+pgx.Identifier{table}.Sanitize()+" WHERE id = $1 FOR UPDATE", rowID(cookie))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if w := getCtx(ctx, h, "/counter", cookie); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("counter behind a locked row: %d %q, want 503", w.Code, w.Body.String())
			}
			if err := tx.Rollback(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			if !tt.unchanged {
				return
			}
			if w := get(h, "/counter", cookie); w.Body.String() != "2" {
				t.Fatalf("counter once the row is free: %d %q, want 2", w.Code, w.Body.String())
			}
		})
	}
}

// cancelOnTimeout makes the pool cancel a statement on the server when its
// context ends, as docs/postgres.md advises.
func cancelOnTimeout(cfg *pgxpool.Config) {
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
}

// TestNewUnreachable: a server that cannot be reached is ErrUnavailable
// from New too.
func TestNewUnreachable(t *testing.T) {
	srv := pgtest.Start(t)
	pool := newPool(t, srv.URL, nil)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pgstore.New(ctx, pool); !errors.Is(err, sessions.ErrUnavailable) {
		t.Fatalf("New with the server down: %v, want ErrUnavailable", err)
	}
}
