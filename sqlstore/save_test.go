package sqlstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
	"github.com/ginsessions/sessions/sqlstore"
)

// created saves a new record with values and returns its id.
func created(t testing.TB, store sessions.Store, values map[string]string) string {
	t.Helper()
	id := sessionstest.NewID()
	now := time.Now()
	if err := store.Save(testCtx(t), id, sessions.Change{New: true, Set: values, UUID: "u", Created: now, Saved: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatalf("Save(New): %v", err)
	}
	return id
}

// loaded returns the values of the live record id, or fails t.
func loaded(t testing.TB, store sessions.Store, id string) map[string]string {
	t.Helper()
	rec, found, err := store.Load(testCtx(t), id)
	if err != nil || !found {
		t.Fatalf("Load: found=%v err=%v", found, err)
	}
	return rec.Values
}

func change(set map[string]string, incr map[string]int64, del ...string) sessions.Change {
	now := time.Now()
	return sessions.Change{Set: set, Incr: incr, Delete: del, Saved: now, Expires: now.Add(time.Hour)}
}

// oddKeys are keys that a JSON path must quote or escape.
var oddKeys = []string{"", "a.b", `quote"and\slash`, "clé ünïcode ☃", "$[0]", "new\nline", "<tag>&", " spaced "}

// TestOddKeysInDeltas: every kind of change reaches the member it names,
// whatever its key, on each database.
func TestOddKeysInDeltas(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			store, _, _ := open(t)
			for _, k := range oddKeys {
				t.Run(strconv.Quote(k), func(t *testing.T) {
					id := created(t, store, map[string]string{k: "1", "other": "2"})
					steps := []struct {
						ch   sessions.Change
						want string // the key's value afterwards, "" for absent
					}{
						{change(nil, map[string]int64{k: 41}), "42"},
						{change(map[string]string{k: `{"x":[1,"y"]}`}, nil), `{"x":[1,"y"]}`},
						{change(nil, nil, k), ""},
						{change(nil, map[string]int64{k: -3}), "-3"},
						{change(map[string]string{k: `"text"`}, nil), `"text"`},
					}
					for i, step := range steps {
						if err := store.Save(testCtx(t), id, step.ch); err != nil {
							t.Fatalf("step %d: Save: %v", i, err)
						}
						values := loaded(t, store, id)
						got, ok := values[k]
						if step.want == "" && ok || step.want != "" && strings.ReplaceAll(got, " ", "") != step.want {
							t.Fatalf("step %d: %q = %q (present %v), want %q; values %v", i, k, got, ok, step.want, values)
						}
						if values["other"] != "2" || len(values) > 2 {
							t.Fatalf("step %d: the other members changed: %v", i, values)
						}
					}
				})
			}
		})
	}
}

// TestIncrements: an increment lands only on an integer (or an absent key)
// and only when the sum fits an int64; otherwise nothing of the change is
// saved and the error names the keys in the way.
func TestIncrements(t *testing.T) {
	tests := []struct {
		name  string
		value string // "" for absent
		delta int64
		want  string // "" for ErrNotInteger
	}{
		{"absent", "", 5, "5"},
		{"integer", "7", -2, "5"},
		{"negative", "-3", 1, "-2"},
		{"max", strconv.FormatInt(math.MaxInt64, 10), -1, strconv.FormatInt(math.MaxInt64-1, 10)},
		{"overflow", strconv.FormatInt(math.MaxInt64, 10), 1, ""},
		{"underflow", strconv.FormatInt(math.MinInt64, 10), -1, ""},
		{"beyond int64", "12345678901234567890123", 1, ""},
		{"float", "1.5", 1, ""},
		{"float text of an integer", "3.0", 1, ""},
		{"string of digits", `"12"`, 1, ""},
		{"null", "null", 1, ""},
		{"true", "true", 1, ""},
		{"object", `{"n":1}`, 1, ""},
	}
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			store, _, _ := open(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					values := map[string]string{"keep": "1"}
					if tt.value != "" {
						values["n"] = tt.value
					}
					id := created(t, store, values)
					err := store.Save(testCtx(t), id, change(map[string]string{"set": "2"}, map[string]int64{"n": tt.delta}, "keep"))
					got := loaded(t, store, id)
					if tt.want == "" {
						if !errors.Is(err, sessions.ErrNotInteger) || !strings.Contains(err.Error(), `"n"`) {
							t.Fatalf("Save: %v, want ErrNotInteger naming \"n\"", err)
						}
						if got["keep"] != "1" || got["set"] != "" {
							t.Fatalf("a refused change was partly saved: %v", got)
						}
						return
					}
					if err != nil {
						t.Fatalf("Save: %v", err)
					}
					if got["n"] != tt.want || got["keep"] != "" || got["set"] != "2" {
						t.Fatalf("values = %v, want n=%s, set=2, keep deleted", got, tt.want)
					}
				})
			}
		})
	}
}

// TestSaveRepeatingTheRow: a save that writes what the row already holds
// succeeds, though MySQL reports that it changed no row.
func TestSaveRepeatingTheRow(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
			id := created(t, store, map[string]string{"a": "1"})
			ch := change(map[string]string{"a": "1"}, nil)
			for i := range 2 {
				if err := store.Save(testCtx(t), id, ch); err != nil {
					t.Fatalf("save %d: %v", i+1, err)
				}
			}
		})
	}
}

// TestCorruptedRows: a row whose data is not a JSON object loads as not
// found, is reported to the logger with its id, and cannot be updated (the
// save is interrupted); the visitor gets a fresh session.
func TestCorruptedRows(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			for _, data := range []string{`[1, 2]`, `"text"`, `null`, `3`, `{"cut": `, ``} {
				t.Run(data, func(t *testing.T) {
					var logs bytes.Buffer
					store, sqldb, table := open(t, sqlstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
					h := engine(store)
					cookie := sessionCookie(t, get(h, "/counter", nil))
					id := rowID(cookie)
					if _, err := sqldb.ExecContext(testCtx(t), "UPDATE "+table+" SET data = ? WHERE id = ?", data, id); err != nil {
						t.Fatal(err)
					}
					if _, found, err := store.Load(testCtx(t), id); found || err != nil {
						t.Fatalf("Load of a corrupted row: found=%v err=%v, want not found and no error", found, err)
					}
					if got := logs.String(); !strings.Contains(got, id) || !strings.Contains(got, "corrupted") {
						t.Fatalf("log = %q, want a report naming the row %s", got, id)
					}
					for _, ch := range []sessions.Change{change(map[string]string{"a": "1"}, nil), change(nil, map[string]int64{"n": 1})} {
						if err := store.Save(testCtx(t), id, ch); !errors.Is(err, sessions.ErrInterrupted) {
							t.Fatalf("Save on a corrupted row: %v, want ErrInterrupted", err)
						}
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
		})
	}
}

// TestBadInput: what the databases cannot hold is refused before any
// statement, naming the key, and the record stays as it was.
func TestBadInput(t *testing.T) {
	store, _, _ := newSQLiteStore(t)
	id := created(t, store, map[string]string{"a": "1"})
	tests := []struct {
		name string
		ch   sessions.Change
		want string
	}{
		{"value not JSON", change(map[string]string{"b": "{"}, nil), `"b" is not JSON`},
		{"NUL in a key", change(map[string]string{"b\x00": "1"}, nil), "U+0000"},
		{"key not UTF-8", change(nil, map[string]int64{"\xff": 1}), "not valid UTF-8"},
		{"value not UTF-8", change(map[string]string{"b": "\"\xff\""}, nil), "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.Save(testCtx(t), id, tt.ch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Save: %v, want an error saying %q", err, tt.want)
			}
			if got := loaded(t, store, id); len(got) != 1 || got["a"] != "1" {
				t.Fatalf("values = %v after a refused save", got)
			}
		})
	}
}

// TestManyKeysInOneChange: one change that sets, deletes and increments
// many keys, odd ones among them, applies to each of them.
func TestManyKeysInOneChange(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			store, _, _ := db.open(t)(t)
			values := map[string]string{"stay": "0"}
			for _, k := range oddKeys {
				values[k] = "1"
				values["incr "+k] = "1"
			}
			id := created(t, store, values)
			ch := change(map[string]string{}, map[string]int64{}, oddKeys...)
			for _, k := range oddKeys {
				ch.Set["set "+k] = `"s"`
				ch.Incr["incr "+k] = 2
			}
			if err := store.Save(testCtx(t), id, ch); err != nil {
				t.Fatal(err)
			}
			got := loaded(t, store, id)
			for _, k := range oddKeys {
				if _, ok := got[k]; ok || got["set "+k] != `"s"` || got["incr "+k] != "3" {
					t.Fatalf("key %q: values %v", k, got)
				}
			}
			if got["stay"] != "0" || len(got) != 1+2*len(oddKeys) {
				t.Fatalf("values = %v", got)
			}
		})
	}
}
