package pgstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/ginsessions/sessions/sessionstest"
	"github.com/jackc/pgx/v5"
)

// TestCorruptedRows: a row whose data is not a JSON object loads as not
// found, is reported to the logger with its id, and cannot be updated (the
// save is interrupted); the visitor gets a fresh session.
func TestCorruptedRows(t *testing.T) {
	for _, data := range []string{`[1, 2]`, `"text"`, `null`, `3`} {
		t.Run(data, func(t *testing.T) {
			var logs bytes.Buffer
			store, pool, table := newStore(t, pgstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			h := engine(store)
			cookie := sessionCookie(t, get(h, "/counter", nil))
			id := rowID(cookie)
			if _, err := pool.Exec(testCtx(t), "UPDATE "+pgx.Identifier{table}.Sanitize()+" SET data = $2::jsonb WHERE id = $1", id, data); err != nil {
				t.Fatal(err)
			}

			if _, found, err := store.Load(testCtx(t), id); found || err != nil {
				t.Fatalf("Load of a corrupted row: found=%v err=%v, want not found and no error", found, err)
			}
			if got := logs.String(); !strings.Contains(got, id) || !strings.Contains(got, "corrupted") {
				t.Fatalf("log = %q, want a report naming the row %s", got, id)
			}
			err := store.Save(testCtx(t), id, sessions.Change{Set: map[string]string{"a": "1"}})
			if !errors.Is(err, sessions.ErrInterrupted) {
				t.Fatalf("Save on a corrupted row: %v, want ErrInterrupted", err)
			}

			w := get(h, "/counter", cookie)
			if w.Code != http.StatusOK || w.Body.String() != "1" {
				t.Fatalf("visit with a corrupted session: %d %q, want 200 and a fresh count of 1", w.Code, w.Body.String())
			}
			if fresh := sessionCookie(t, w); fresh.Value == cookie.Value {
				t.Fatalf("the corrupted session's token was kept")
			}
		})
	}
}

// TestCorruptedRowsSilent: WithLogger(nil) turns the reports off and the
// row still loads as not found.
func TestCorruptedRowsSilent(t *testing.T) {
	store, pool, table := newStore(t, pgstore.WithLogger(nil))
	id := sessionstest.NewID()
	if _, err := pool.Exec(testCtx(t), "INSERT INTO "+pgx.Identifier{table}.Sanitize()+
		" (id, data, uuid, created, saved, last_seen, expires, expiry_ns) VALUES ($1, '[]', 'u', now(), now(), now(), now() + interval '1 hour', 0)", id); err != nil {
		t.Fatal(err)
	}
	if _, found, err := store.Load(testCtx(t), id); found || err != nil {
		t.Fatalf("Load: found=%v err=%v, want not found and no error", found, err)
	}
}
