package sqlstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ginsessions/sessions"
)

// TestConditionalSaves: on each database, a conditional save compares
// values, not their spelling, whatever the key, and leaves the record as
// it was when an expectation fails; Delete reports a live row once; and
// the errors the store wraps say "sessions: " once.
func TestConditionalSaves(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
			values := map[string]string{}
			for _, k := range oddKeys {
				values[k] = `{"k": [1, "x", null], "n": 1.5}`
			}
			id := created(t, store, values)
			stored := loaded(t, store, id)

			// Spaced, ordered and spelled otherwise: the same values.
			ch := change(map[string]string{"after": "1"}, nil)
			ch.Expect = map[string]string{"absent": ""}
			for _, k := range oddKeys {
				ch.Expect[k] = `{ "n" : 15e-1, "k":[1,"x",null]}`
			}
			if err := store.Save(testCtx(t), id, ch); err != nil {
				t.Fatalf("Save expecting the same values spelled otherwise: %v", err)
			}
			if got := loaded(t, store, id)["after"]; got != "1" {
				t.Fatalf("after = %q, want 1", got)
			}

			// What Load returned holds too, key by key.
			for _, k := range oddKeys {
				ch := change(map[string]string{"after": "2"}, nil)
				ch.Expect = map[string]string{k: stored[k]}
				if err := store.Save(testCtx(t), id, ch); err != nil {
					t.Fatalf("Save expecting %q as Load returned it: %v", k, err)
				}
			}

			errs := map[string]error{}
			for _, k := range oddKeys {
				stale := change(map[string]string{"after": "3"}, map[string]int64{"n": 1}, "absent")
				stale.Expect = map[string]string{k: `{"k": [1, "x", null], "n": 2}`}
				err := store.Save(testCtx(t), id, stale)
				if !errors.Is(err, sessions.ErrConflict) {
					t.Fatalf("Save expecting a stale value of %q: %v, want ErrConflict", k, err)
				}
				errs["conflict"] = err
			}
			if got := loaded(t, store, id); got["after"] != "2" || got["n"] != "" {
				t.Fatalf("a conflicting save changed the record: after = %q, n = %q", got["after"], got["n"])
			}
			notJSON := change(map[string]string{"after": "4"}, nil)
			notJSON.Expect = map[string]string{"after": "{"}
			if err := store.Save(testCtx(t), id, notJSON); err == nil {
				t.Fatal("Save expecting text that is not JSON: no error")
			}

			if found, err := store.Delete(testCtx(t), id); err != nil || !found {
				t.Fatalf("Delete: found=%v err=%v, want found", found, err)
			}
			if found, err := store.Delete(testCtx(t), id); err != nil || found {
				t.Fatalf("Delete again: found=%v err=%v, want not found", found, err)
			}
			gone := change(map[string]string{"after": "5"}, nil)
			gone.Expect = map[string]string{"after": "2"}
			errs["interrupted"] = store.Save(testCtx(t), id, gone)
			if !errors.Is(errs["interrupted"], sessions.ErrInterrupted) {
				t.Fatalf("conditional Save of a deleted record: %v, want ErrInterrupted", errs["interrupted"])
			}
			id = created(t, store, map[string]string{"s": `"text"`})
			errs["not an integer"] = store.Save(testCtx(t), id, change(nil, map[string]int64{"s": 1}))
			if !errors.Is(errs["not an integer"], sessions.ErrNotInteger) {
				t.Fatalf("increment of a string: %v, want ErrNotInteger", errs["not an integer"])
			}
			for what, err := range errs {
				if msg := err.Error(); !strings.HasPrefix(msg, "sessions: ") || strings.Count(msg, "sessions:") != 1 {
					t.Errorf("%s: %q: want one \"sessions: \" prefix, at the start", what, msg)
				}
			}
		})
	}
}

// TestConcurrentLockedConditionalSaves: concurrent read-modify-writes of one
// key whose expectations are spelled otherwise than Load returned them, so
// that each is checked in a transaction, lose nothing.
func TestConcurrentLockedConditionalSaves(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
			id := created(t, store, map[string]string{"list": "[]"})
			const n = 10
			errs := make(chan error, n)
			for i := range n {
				go func() {
					errs <- func() error {
						for range 1000 {
							rec, found, err := store.Load(testCtx(t), id)
							if err != nil || !found {
								return fmt.Errorf("Load: found=%v err=%v", found, err)
							}
							var list []int
							if err := json.Unmarshal([]byte(rec.Values["list"]), &list); err != nil {
								return err
							}
							spaced, _ := json.MarshalIndent(list, "", "  ")
							next, _ := json.Marshal(append(list, i))
							ch := change(map[string]string{"list": string(next)}, nil)
							ch.Expect = map[string]string{"list": string(spaced) + " "}
							if err := store.Save(testCtx(t), id, ch); !errors.Is(err, sessions.ErrConflict) {
								return err
							}
						}
						return errors.New("1000 conflicts in a row")
					}()
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			var list []int
			if err := json.Unmarshal([]byte(loaded(t, store, id)["list"]), &list); err != nil || len(list) != n {
				t.Fatalf("list = %v (%v), want %d items", list, err, n)
			}
		})
	}
}
