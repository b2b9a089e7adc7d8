package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestNoDoubledPrefix: the errors the store wraps say "sessions: " once: a
// save of a row that is gone, increments of a string and past int64, a
// server that cannot be reached, at New and at Load.
func TestNoDoubledPrefix(t *testing.T) {
	store, _, _ := newStore(t)
	ctx := testCtx(t)
	now := time.Now()
	sum := sha256.Sum256([]byte(t.Name()))
	id := hex.EncodeToString(sum[:])
	errs := map[string]error{}
	errs["save of a deleted row"] = store.Save(ctx, id, sessions.Change{Saved: now, Expires: now.Add(time.Hour), Set: map[string]string{"a": "1"}})
	if err := store.Save(ctx, id, sessions.Change{New: true, Saved: now, Expires: now.Add(time.Hour), UUID: "00000000-0000-4000-8000-000000000000",
		Set: map[string]string{"s": `"text"`, "big": "9223372036854775807"}}); err != nil {
		t.Fatal(err)
	}
	errs["increment of a string"] = store.Save(ctx, id, sessions.Change{Saved: now, Expires: now.Add(time.Hour), Incr: map[string]int64{"s": 1}})
	errs["increment past int64"] = store.Save(ctx, id, sessions.Change{Saved: now, Expires: now.Add(time.Hour), Incr: map[string]int64{"big": 1}})

	down, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, errs["New, server down"] = pgstore.New(ctx, down)
	_, _, errs["Load, server down"] = store.Load(canceled(), id)

	for what, err := range errs {
		switch {
		case err == nil:
			t.Errorf("%s: no error", what)
		case !strings.HasPrefix(err.Error(), "sessions: ") || strings.Count(err.Error(), "sessions:") != 1:
			t.Errorf("%s: %q: want one \"sessions: \" prefix, at the start", what, err)
		}
	}
	if !errors.Is(errs["save of a deleted row"], sessions.ErrInterrupted) || !errors.Is(errs["increment of a string"], sessions.ErrNotInteger) {
		t.Errorf("the sentinels are not wrapped: %v; %v", errs["save of a deleted row"], errs["increment of a string"])
	}
}

// canceled is a context that has ended: the store cannot answer within it.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
