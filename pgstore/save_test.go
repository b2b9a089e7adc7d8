package pgstore_test

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

// created saves a new record holding values, alive for an hour.
func created(t *testing.T, store sessions.Store, values map[string]string) string {
	t.Helper()
	id := sessionstest.NewID()
	now := time.Now()
	ch := sessions.Change{New: true, Set: values, UUID: "u", Created: now, Saved: now, Expires: now.Add(time.Hour)}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatalf("Save(New): %v", err)
	}
	return id
}

func loaded(t *testing.T, store sessions.Store, id string) map[string]string {
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

// TestIncrements: what an increment accepts, what it refuses with
// ErrNotInteger (naming the keys), and that a refused save changes nothing,
// not even the other parts of the change.
func TestIncrements(t *testing.T) {
	maxInt := strconv.FormatInt(1<<63-1, 10)
	minInt := strconv.FormatInt(-1<<63, 10)
	tests := []struct {
		name   string
		stored string // "" for an absent key
		delta  int64
		want   string // "" when refused
	}{
		{"absent", "", 5, "5"},
		{"integer", "41", 1, "42"},
		{"negative", "-3", -4, "-7"},
		{"exponent", "1e3", 1, "1001"}, // jsonb keeps it as 1000
		{"float text of an integer", "3.0", 1, ""},
		{"up to the largest int64", strconv.FormatInt(1<<63-2, 10), 1, maxInt},
		{"down to the smallest int64", strconv.FormatInt(-1<<63+1, 10), -1, minInt},
		{"past the largest int64", maxInt, 1, ""},
		{"past the smallest int64", minInt, -1, ""},
		{"fraction", "1.5", 1, ""},
		{"string of digits", `"12"`, 1, ""},
		{"string", `"ann"`, 1, ""},
		{"null", "null", 1, ""},
		{"true", "true", 1, ""},
		{"object", `{"n": 1}`, 1, ""}, // as jsonb spaces it
		{"array", `[1]`, 1, ""},
	}
	store, _, _ := newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]string{"other": `"o"`}
			if tt.stored != "" {
				values["n"] = tt.stored
			}
			id := created(t, store, maps.Clone(values))
			err := store.Save(testCtx(t), id, change(map[string]string{"other": `"changed"`}, map[string]int64{"n": tt.delta}, "gone"))
			got := loaded(t, store, id)
			if tt.want == "" {
				if !errors.Is(err, sessions.ErrNotInteger) || !strings.Contains(err.Error(), `"n"`) {
					t.Fatalf("Save: %v, want ErrNotInteger naming \"n\"", err)
				}
				if got["other"] != `"o"` || got["n"] != values["n"] {
					t.Fatalf("a refused save changed the record: %v, was %v", got, values)
				}
				return
			}
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			if got["n"] != tt.want || got["other"] != `"changed"` {
				t.Fatalf("after the save: %v, want n=%s other=\"changed\"", got, tt.want)
			}
		})
	}
}

// TestIncrementsNameEveryBadKey: a save with several refused increments
// names them all.
func TestIncrementsNameEveryBadKey(t *testing.T) {
	store, _, _ := newStore(t)
	id := created(t, store, map[string]string{"a": `"x"`, "b": "1.5", "c": "1"})
	err := store.Save(testCtx(t), id, change(nil, map[string]int64{"a": 1, "b": 1, "c": 1}))
	if !errors.Is(err, sessions.ErrNotInteger) || !strings.Contains(err.Error(), `"a", "b"`) || strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("Save: %v, want ErrNotInteger naming \"a\" and \"b\" only", err)
	}
}

// TestNewWithIncrements: increments in a new record start from 0.
func TestNewWithIncrements(t *testing.T) {
	store, _, _ := newStore(t)
	id := sessionstest.NewID()
	now := time.Now()
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, Incr: map[string]int64{"n": 7},
		UUID: "u", Created: now, Saved: now, Expires: now.Add(time.Hour)}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatal(err)
	}
	if got := loaded(t, store, id); got["n"] != "7" || got["a"] != "1" {
		t.Fatalf("values = %v, want a=1 n=7", got)
	}
}

// TestBadInput: what PostgreSQL cannot store is refused before the
// statement with an error that names the key, new record or update, and the
// record is left as it was.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		change sessions.Change
		want   string // in the error
	}{
		{"value not JSON", change(map[string]string{"v": `{"a":`}, nil), `the value of "v" is not JSON text`},
		{"value injecting a key", change(map[string]string{"v": `1, "w": 2`}, nil), `the value of "v" is not JSON text`},
		{"NUL in a value", change(map[string]string{"v": `"a\u0000b"`}, nil), `the value of "v" holds the character U+0000`},
		{"NUL after escaped backslashes", change(map[string]string{"v": `"\\\u0000"`}, nil), `the value of "v" holds the character U+0000`},
		{"value not UTF-8", change(map[string]string{"v": "\"\xff\""}, nil), `the value of "v" is not valid UTF-8`},
		{"NUL in a key", change(map[string]string{"k\x00": "1"}, nil), `holds the character U+0000`},
		{"NUL in an increment's key", change(nil, map[string]int64{"k\x00": 1}), `holds the character U+0000`},
		{"NUL in a deleted key", change(nil, nil, "k\x00"), `holds the character U+0000`},
		{"key not UTF-8", change(map[string]string{"k\xff": "1"}, nil), `is not valid UTF-8`},
	}
	store, _, _ := newStore(t)
	for _, tt := range tests {
		for _, isNew := range []bool{false, true} {
			t.Run(tt.name+"/new="+strconv.FormatBool(isNew), func(t *testing.T) {
				before := map[string]string{"v": `"kept"`}
				id := created(t, store, maps.Clone(before))
				ch := tt.change
				ch.New = isNew
				err := store.Save(testCtx(t), id, ch)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Save: %v, want an error saying %q", err, tt.want)
				}
				if errors.Is(err, sessions.ErrUnavailable) {
					t.Fatalf("bad input reported as an outage: %v", err)
				}
				if got := loaded(t, store, id); !maps.Equal(got, before) {
					t.Fatalf("a refused save changed the record: %v", got)
				}
			})
		}
	}
}

// TestEscapedBackslashBeforeU0000: the text \\u0000 is a backslash and
// "u0000", which jsonb stores.
func TestEscapedBackslashBeforeU0000(t *testing.T) {
	store, _, _ := newStore(t)
	id := created(t, store, map[string]string{"v": `"\\u0000"`})
	if got := loaded(t, store, id)["v"]; got != `"\\u0000"` {
		t.Fatalf("v = %s, want \"\\\\u0000\"", got)
	}
}

// TestValuesReadableInSQL: the data column is one JSON object of the
// session's values, which SQL reads as such.
func TestValuesReadableInSQL(t *testing.T) {
	store, pool, table := newStore(t)
	id := created(t, store, map[string]string{"greeting": `"Hello, Gin Sessions!"`, "num_visits": "3"})
	var greeting string
	var visits int
	if err := pool.QueryRow(testCtx(t), `SELECT data->>'greeting', (data->'num_visits')::int FROM "`+table+`" WHERE id = $1`, id).Scan(&greeting, &visits); err != nil {
		t.Fatal(err)
	}
	if greeting != "Hello, Gin Sessions!" || visits != 3 {
		t.Fatalf("greeting=%q visits=%d", greeting, visits)
	}
}

// TestConcurrentNewOnOneID: inserts under one id at once never fail on the
// primary key; one of them wins, whole.
func TestConcurrentNewOnOneID(t *testing.T) {
	store, _, _ := newStore(t)
	id := sessionstest.NewID()
	const n = 20
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			now := time.Now()
			v := strconv.Itoa(i)
			errs <- store.Save(testCtx(t), id, sessions.Change{New: true, Set: map[string]string{"writer": v, "copy": v},
				UUID: "u" + v, Created: now, Saved: now, Expires: now.Add(time.Hour)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Save(New): %v", err)
		}
	}
	rec, found, err := store.Load(testCtx(t), id)
	if err != nil || !found {
		t.Fatalf("Load: found=%v err=%v", found, err)
	}
	if w := rec.Values["writer"]; rec.Values["copy"] != w || rec.UUID != "u"+w || len(rec.Values) != 2 {
		t.Fatalf("a mix of inserts: %v, UUID %q", rec.Values, rec.UUID)
	}
}
