// Package sessionstest checks that a sessions.Store behaves as the
// middleware expects. Every store in this module passes it; third-party
// stores should too:
//
//	func TestMyStore(t *testing.T) {
//		sessionstest.Run(t, func(t *testing.T) sessions.Store { return mystore.New(…) })
//	}
//
// Run calls the store's methods directly; RunMiddleware sends gin requests
// through sessions.Middleware on the store, most of them concurrent. A
// store should pass both. A store whose cleaner reports expiry events
// (sessions.EventSource) should pass RunCleaner too.
package sessionstest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
)

// Run runs the conformance suite. newStore is called once per subtest and
// must return a store whose state no other subtest sees (or share one and
// rely on the random ids and principals the suite uses). Stores must keep
// times to at least millisecond precision. Values are compared as JSON
// values, so a store may return equal JSON text spaced or ordered
// differently.
//
// Run checks that Delete reports whether it found the record, and that of
// concurrent deletes of one record exactly one finds it.
//
// Run checks conditional saves (sessions.Change.Expect) too: a change
// whose expectations hold is applied whole, one whose expectation fails
// changes nothing and answers sessions.ErrConflict, and concurrent
// conditional read-modify-writes of one key lose nothing. A store that
// ignores Expect fails these cases.
//
// When the store implements sessions.UserStore, Run also checks the
// per-user index: the tag, the listing, each selection of a deletion, that
// dead sessions are never listed, a deletion racing new sessions of the
// same user, Delete racing DeleteUserSessions, and logins with
// Change.MaxUserSessions, one at a time and concurrent.
func Run(t *testing.T, newStore func(t *testing.T) sessions.Store) {
	t.Helper()
	runSuite(t, newStore, cases, userCases)
}

// runSuite runs cases, each on a store of its own from newStore, and
// userCases too when the store implements sessions.UserStore.
func runSuite(t *testing.T, newStore func(t *testing.T) sessions.Store, cases []testCase, userCases []userTestCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
	if _, ok := newStore(t).(sessions.UserStore); !ok {
		return
	}
	for _, tc := range userCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t).(sessions.UserStore))
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, st sessions.Store)
}

type userTestCase struct {
	name string
	run  func(t *testing.T, st sessions.UserStore)
}

var cases = []testCase{
	{"LoadMissing", testLoadMissing},
	{"CreateAndLoad", testCreateAndLoad},
	{"Delta", testDelta},
	{"IncrStartsAtZero", testIncrStartsAtZero},
	{"IncrNotIntegerChangesNothing", testIncrNotInteger},
	{"NoResurrection", testNoResurrection},
	{"NewReplaces", testNewReplaces},
	{"Delete", testDelete},
	{"DeleteFindsOnce", testDeleteFindsOnce},
	{"ExpiredIsNotFound", testExpired},
	{"ExpiresInTime", testExpiresInTime},
	{"Touch", testTouch},
	{"LastSeen", testLastSeen},
	{"FarFutureExpiry", testFarFutureExpiry},
	{"OddKeysAndValues", testOddValues},
	{"ConcurrentIncr", testConcurrentIncr},
	{"ConcurrentDifferentKeys", testConcurrentKeys},
	{"ConditionalSave", testConditionalSave},
	{"ConditionalSaveOnMissingRecord", testConditionalMissing},
	{"ConcurrentConditionalSaves", testConcurrentConditional},
}

// testConditionalSave checks Change.Expect: a save whose expectations hold
// (a value as Load returned it, a key absent) applies the whole change; one
// whose expectation fails changes nothing, not its other keys, deletions or
// increments, and answers ErrConflict. A store that ignored Expect would
// apply the stale change and fail here.
func testConditionalSave(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"cart": `["a"]`, "n": "1", "other": `"o"`, "gone": "true"})
	read := mustLoad(t, st, id).Values["cart"]

	ok := update(ch)
	ok.Set = map[string]string{"cart": `["a","b"]`, "other": `"p"`}
	ok.Incr = map[string]int64{"n": 1}
	ok.Delete = []string{"gone"}
	ok.Expect = map[string]string{"cart": read, "missing": ""}
	if err := st.Save(ctx(t), id, ok); err != nil {
		t.Fatalf("Save with expectations that hold: %v", err)
	}
	want := map[string]string{"cart": `["a","b"]`, "n": "2", "other": `"p"`}
	equalValues(t, mustLoad(t, st, id).Values, want)

	for _, tc := range []struct {
		name   string
		expect map[string]string
	}{
		{"a stale value", map[string]string{"cart": read}},
		{"a present key expected absent", map[string]string{"cart": ""}},
		{"an absent key expected present", map[string]string{"missing": `1`}},
		{"one of two unmet", map[string]string{"cart": mustLoad(t, st, id).Values["cart"], "other": `"o"`}},
	} {
		stale := update(ch)
		stale.Set = map[string]string{"cart": `["a","c"]`, "new": "1"}
		stale.Incr = map[string]int64{"n": 5, "fresh": 1}
		stale.Delete = []string{"other"}
		stale.Expect = tc.expect
		if err := st.Save(ctx(t), id, stale); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Save expecting %s: err = %v, want ErrConflict", tc.name, err)
		}
		equalValues(t, mustLoad(t, st, id).Values, want)
	}
}

// testConditionalMissing checks that a conditional save to a record that is
// gone is ErrInterrupted, as any save to it is, and brings nothing back.
func testConditionalMissing(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"cart": `["a"]`})
	if _, err := st.Delete(ctx(t), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	up := update(ch)
	up.Set = map[string]string{"cart": `["a","b"]`}
	up.Expect = map[string]string{"cart": `["a"]`}
	if err := st.Save(ctx(t), id, up); !errors.Is(err, sessions.ErrInterrupted) {
		t.Fatalf("conditional Save on a deleted record: err = %v, want ErrInterrupted", err)
	}
	mustNotFind(t, st, id)
}

// testConcurrentConditional runs many read-modify-writes of one key at
// once, each loading the list, appending its item and saving on the
// condition that the list is unchanged, again until it is: every item
// must be there. A check that is not atomic with the write loses some.
func testConcurrentConditional(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"list": `[]`})
	const n = 20
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- appendUntilSaved(t, st, id, ch, strconv.Itoa(i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := json.Unmarshal([]byte(mustLoad(t, st, id).Values["list"]), &got); err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(got) != n {
		t.Fatalf("after %d concurrent conditional appends the list holds %d items: %v", n, len(got), got)
	}
}

// appendUntilSaved appends item to the list under id, as Update does: load,
// change, save on the condition, again on a conflict.
func appendUntilSaved(t *testing.T, st sessions.Store, id string, base sessions.Change, item string) error {
	for range 1000 {
		rec, found, err := st.Load(ctx(t), id)
		if err != nil || !found {
			return fmt.Errorf("Load: found=%v err=%v", found, err)
		}
		var list []string
		if err := json.Unmarshal([]byte(rec.Values["list"]), &list); err != nil {
			return fmt.Errorf("list: %w", err)
		}
		next, _ := json.Marshal(append(list, item))
		up := update(base)
		up.Set = map[string]string{"list": string(next)}
		up.Expect = map[string]string{"list": rec.Values["list"]}
		err = st.Save(ctx(t), id, up)
		if !errors.Is(err, sessions.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("item %s: 1000 conflicts in a row", item)
}

// NewID returns a random store id of the form the middleware uses.
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// create saves a new record with values and a one-hour lifetime.
func create(t *testing.T, st sessions.Store, id string, values map[string]string) sessions.Change {
	t.Helper()
	now := time.Now()
	ch := sessions.Change{
		New: true, Set: values, UUID: "5f1c2b9e-8f47-4c8e-9d2a-6f0e8a4b1c3d",
		Created: now.Add(-time.Minute), Saved: now, Expires: now.Add(time.Hour), Expiry: 30 * time.Minute,
	}
	if err := st.Save(ctx(t), id, ch); err != nil {
		t.Fatalf("Save(New): %v", err)
	}
	return ch
}

func update(base sessions.Change) sessions.Change {
	now := time.Now()
	return sessions.Change{Saved: now, Expires: now.Add(time.Hour), Expiry: base.Expiry}
}

func mustLoad(t *testing.T, st sessions.Store, id string) sessions.Record {
	t.Helper()
	rec, found, err := st.Load(ctx(t), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !found {
		t.Fatalf("Load: record %.8s… not found", id)
	}
	return rec
}

func mustNotFind(t *testing.T, st sessions.Store, id string) {
	t.Helper()
	_, found, err := st.Load(ctx(t), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if found {
		t.Fatalf("Load: record %.8s… found, want not found", id)
	}
}

// equalValues compares values as JSON values, not as text: a store may
// hand back the JSON text of the same value spaced or ordered differently,
// as PostgreSQL's jsonb does.
func equalValues(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !maps.EqualFunc(got, want, sameJSON) {
		t.Fatalf("values = %v, want %v", got, want)
	}
}

// sameJSON reports whether two JSON texts hold the same value, numbers
// compared exactly by value (1e2 and 100 are the same number).
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	va, okA := exactJSON(a)
	vb, okB := exactJSON(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

// exactJSON decodes text with every number as its exact value in lowest
// terms.
func exactJSON(text string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return exactNumbers(v), true
}

// exactNumber is a JSON number in lowest terms, a type of its own so that
// it never equals a string.
type exactNumber string

func exactNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(x)); ok {
			return exactNumber(r.RatString())
		}
		return exactNumber(x)
	case map[string]any:
		for k, e := range x {
			x[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = exactNumbers(e)
		}
	}
	return v
}

func sameTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("%s = %v, want %v (±1ms)", field, got, want)
	}
}

func testLoadMissing(t *testing.T, st sessions.Store) {
	mustNotFind(t, st, NewID())
}

func testCreateAndLoad(t *testing.T, st sessions.Store) {
	id := NewID()
	values := map[string]string{"greeting": `"Hello, Gin Sessions!"`, "num_visits": "3"}
	ch := create(t, st, id, maps.Clone(values))
	rec := mustLoad(t, st, id)
	equalValues(t, rec.Values, values)
	if rec.UUID != ch.UUID {
		t.Fatalf("UUID = %q, want %q", rec.UUID, ch.UUID)
	}
	if rec.Expiry != ch.Expiry {
		t.Fatalf("Expiry = %v, want %v", rec.Expiry, ch.Expiry)
	}
	sameTime(t, "Created", rec.Created, ch.Created)
	sameTime(t, "Saved", rec.Saved, ch.Saved)
	sameTime(t, "Expires", rec.Expires, ch.Expires)
}

func testDelta(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"keep": `"k"`, "drop": `"d"`, "change": "1", "n": "5"})
	up := update(ch)
	up.Set = map[string]string{"change": "2", "add": `["a"]`}
	up.Delete = []string{"drop", "never-there"}
	up.Incr = map[string]int64{"n": 3, "fresh": -2}
	up.Expiry = -1
	if err := st.Save(ctx(t), id, up); err != nil {
		t.Fatalf("Save(delta): %v", err)
	}
	rec := mustLoad(t, st, id)
	equalValues(t, rec.Values, map[string]string{"keep": `"k"`, "change": "2", "add": `["a"]`, "n": "8", "fresh": "-2"})
	if rec.UUID != ch.UUID {
		t.Fatalf("an update changed the UUID to %q", rec.UUID)
	}
	sameTime(t, "Created", rec.Created, ch.Created)
	sameTime(t, "Saved", rec.Saved, up.Saved)
	if rec.Expiry != -1 {
		t.Fatalf("Expiry = %v, want -1ns", rec.Expiry)
	}
}

func testIncrStartsAtZero(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"x": "1"})
	up := update(ch)
	up.Incr = map[string]int64{"count": 1}
	if err := st.Save(ctx(t), id, up); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if got := mustLoad(t, st, id).Values["count"]; got != "1" {
		t.Fatalf("count = %q, want 1", got)
	}
}

// testIncrNotInteger checks that Incr adds only to integer text, as Redis's
// HINCRBY does (3.0 is a float's text), and never past the int64 range.
func testIncrNotInteger(t *testing.T, st sessions.Store) {
	id := NewID()
	values := map[string]string{"name": `"ann"`, "half": "1.5", "float": "3.0", "max": strconv.FormatInt(math.MaxInt64, 10)}
	ch := create(t, st, id, maps.Clone(values))
	for _, key := range []string{"name", "half", "float", "max"} {
		up := update(ch)
		up.Set = map[string]string{"other": "1"}
		up.Incr = map[string]int64{key: 1}
		err := st.Save(ctx(t), id, up)
		if !errors.Is(err, sessions.ErrNotInteger) {
			t.Fatalf("Incr of %s: err = %v, want ErrNotInteger", key, err)
		}
	}
	equalValues(t, mustLoad(t, st, id).Values, values)
}

func testNoResurrection(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"a": "1"})
	if _, err := st.Delete(ctx(t), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	up := update(ch)
	up.Set = map[string]string{"b": "2"}
	up.Incr = map[string]int64{"c": 1}
	if err := st.Save(ctx(t), id, up); !errors.Is(err, sessions.ErrInterrupted) {
		t.Fatalf("Save on a deleted record: err = %v, want ErrInterrupted", err)
	}
	mustNotFind(t, st, id)
	if err := st.Save(ctx(t), NewID(), up); !errors.Is(err, sessions.ErrInterrupted) {
		t.Fatalf("Save on a never-created record: err = %v, want ErrInterrupted", err)
	}
}

func testNewReplaces(t *testing.T, st sessions.Store) {
	id := NewID()
	create(t, st, id, map[string]string{"old": "1"})
	ch := create(t, st, id, map[string]string{"new": "2"})
	rec := mustLoad(t, st, id)
	equalValues(t, rec.Values, map[string]string{"new": "2"})
	sameTime(t, "Created", rec.Created, ch.Created)
}

func testDelete(t *testing.T, st sessions.Store) {
	id, other := NewID(), NewID()
	create(t, st, id, map[string]string{"a": "1"})
	create(t, st, other, map[string]string{"b": "2"})
	if found, err := st.Delete(ctx(t), id); err != nil || !found {
		t.Fatalf("Delete = %v, %v; want true, nil", found, err)
	}
	mustNotFind(t, st, id)
	equalValues(t, mustLoad(t, st, other).Values, map[string]string{"b": "2"})
	if found, err := st.Delete(ctx(t), id); err != nil || found {
		t.Fatalf("Delete of a deleted record = %v, %v; want false, nil", found, err)
	}
	if found, err := st.Delete(ctx(t), NewID()); err != nil || found {
		t.Fatalf("Delete of a missing record = %v, %v; want false, nil", found, err)
	}
	expired := NewID()
	ch := create(t, st, expired, map[string]string{"a": "1"})
	up := update(ch)
	up.Expires = time.Now().Add(-time.Second)
	if err := st.Save(ctx(t), expired, up); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if found, err := st.Delete(ctx(t), expired); err != nil || found {
		t.Fatalf("Delete of an expired record = %v, %v; want false, nil", found, err)
	}
}

// testDeleteFindsOnce deletes one record from many goroutines at once:
// exactly one of them finds it, which is how the middleware keeps a
// revoked session from being saved again under a new id.
func testDeleteFindsOnce(t *testing.T, st sessions.Store) {
	const deleters, rounds = 8, 10
	for range rounds {
		id := NewID()
		create(t, st, id, map[string]string{"a": "1"})
		var (
			wg    sync.WaitGroup
			found atomic.Int32
		)
		start := make(chan struct{})
		for range deleters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := st.Delete(ctx(t), id)
				if err != nil {
					t.Errorf("Delete: %v", err)
				}
				if ok {
					found.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := found.Load(); n != 1 {
			t.Fatalf("%d concurrent deletes of one record reported finding it %d times, want once", deleters, n)
		}
	}
}

func testExpired(t *testing.T, st sessions.Store) {
	id := NewID()
	now := time.Now()
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, UUID: "u",
		Created: now.Add(-time.Hour), Saved: now.Add(-time.Hour), Expires: now.Add(-time.Second)}
	if err := st.Save(ctx(t), id, ch); err != nil {
		t.Fatalf("Save(New, already expired): %v", err)
	}
	mustNotFind(t, st, id)
	up := update(ch)
	up.Set = map[string]string{"b": "2"}
	if err := st.Save(ctx(t), id, up); !errors.Is(err, sessions.ErrInterrupted) {
		t.Fatalf("Save on an expired record: err = %v, want ErrInterrupted", err)
	}
	mustNotFind(t, st, id)
}

func testExpiresInTime(t *testing.T, st sessions.Store) {
	id := NewID()
	now := time.Now()
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, UUID: "u",
		Created: now, Saved: now, Expires: now.Add(200 * time.Millisecond)}
	if err := st.Save(ctx(t), id, ch); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// The store's own clock decides, so poll, within a bound.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, found, err := st.Load(ctx(t), id)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if !found {
			if time.Now().Before(ch.Expires) {
				t.Fatalf("record gone before it expired")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record still served %v after it expired", time.Since(ch.Expires))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testTouch(t *testing.T, st sessions.Store) {
	id := NewID()
	values := map[string]string{"a": "1"}
	create(t, st, id, maps.Clone(values))
	later := time.Now().Add(3 * time.Hour)
	if err := st.Touch(ctx(t), id, time.Now(), later); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	rec := mustLoad(t, st, id)
	sameTime(t, "Expires after Touch", rec.Expires, later)
	equalValues(t, rec.Values, values)

	if err := st.Touch(ctx(t), id, time.Now(), time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Touch into the past: %v", err)
	}
	mustNotFind(t, st, id)

	missing := NewID()
	if err := st.Touch(ctx(t), missing, time.Now(), later); err != nil {
		t.Fatalf("Touch of a missing record: %v", err)
	}
	mustNotFind(t, st, missing)
}

// testFarFutureExpiry checks that a session meant to live for centuries
// (SetExpiry(math.MaxInt64), a cookie age of 250 years) lives, though its
// expiry may be stored as an earlier instant that is still centuries away.
func testFarFutureExpiry(t *testing.T, st sessions.Store) {
	id := NewID()
	now := time.Now()
	far := now.Add(math.MaxInt64)
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, UUID: "u", Created: now, Saved: now, Expires: far, Expiry: math.MaxInt64}
	if err := st.Save(ctx(t), id, ch); err != nil {
		t.Fatalf("Save with an expiry in %d: %v", far.Year(), err)
	}
	century := now.AddDate(100, 0, 0)
	if rec := mustLoad(t, st, id); rec.Expires.Before(century) || rec.Expiry != math.MaxInt64 {
		t.Fatalf("Expires = %v, Expiry = %v; want at least %v and %v", rec.Expires, rec.Expiry, century, time.Duration(math.MaxInt64))
	}
	if err := st.Touch(ctx(t), id, now, far); err != nil {
		t.Fatalf("Touch with an expiry in %d: %v", far.Year(), err)
	}
	if rec := mustLoad(t, st, id); rec.Expires.Before(century) {
		t.Fatalf("after Touch: Expires = %v, want at least %v", rec.Expires, century)
	}
}

// testLastSeen checks that every save sets LastSeen to Change.Saved and that
// Touch sets it to its seen argument without moving Saved or the values.
func testLastSeen(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"a": "1"})
	sameTime(t, "LastSeen after a new save", mustLoad(t, st, id).LastSeen, ch.Saved)

	up := update(ch)
	up.Saved = ch.Saved.Add(time.Minute)
	up.Set = map[string]string{"b": "2"}
	if err := st.Save(ctx(t), id, up); err != nil {
		t.Fatalf("Save(update): %v", err)
	}
	sameTime(t, "LastSeen after an update", mustLoad(t, st, id).LastSeen, up.Saved)

	seen, later := up.Saved.Add(5*time.Minute), time.Now().Add(2*time.Hour)
	if err := st.Touch(ctx(t), id, seen, later); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	rec := mustLoad(t, st, id)
	sameTime(t, "LastSeen after Touch", rec.LastSeen, seen)
	sameTime(t, "Expires after Touch", rec.Expires, later)
	sameTime(t, "Saved after Touch", rec.Saved, up.Saved)
	sameTime(t, "Created after Touch", rec.Created, ch.Created)
	equalValues(t, rec.Values, map[string]string{"a": "1", "b": "2"})
	if rec.UUID != ch.UUID || rec.Expiry != ch.Expiry {
		t.Fatalf("Touch changed UUID or Expiry: %q %v", rec.UUID, rec.Expiry)
	}

	// A later save moves LastSeen back to its own Saved.
	again := update(ch)
	again.Saved = seen.Add(time.Minute)
	if err := st.Save(ctx(t), id, again); err != nil {
		t.Fatalf("Save after Touch: %v", err)
	}
	sameTime(t, "LastSeen after a save that follows a touch", mustLoad(t, st, id).LastSeen, again.Saved)
}

func testOddValues(t *testing.T, st sessions.Store) {
	id := NewID()
	values := map[string]string{
		"":                  `""`,
		"clé ünïcode ☃":     `"välue ☃"`,
		"with:colon/slash":  `{"nested":{"list":[1,2.5,null,true]}}`,
		"_looks_reserved":   "null",
		"big":               `"` + strings.Repeat("x", 100_000) + `"`,
		"max":               strconv.FormatInt(1<<63-1, 10),
		"quote\"and\\slash": `"\"\\"`,
	}
	create(t, st, id, maps.Clone(values))
	equalValues(t, mustLoad(t, st, id).Values, values)
}

// saveConcurrently saves all the changes to id at once and fails the test
// if any save fails.
func saveConcurrently(t *testing.T, st sessions.Store, id string, changes []sessions.Change) {
	t.Helper()
	errs := make(chan error, len(changes))
	var wg sync.WaitGroup
	for _, ch := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- st.Save(ctx(t), id, ch)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
}

func testConcurrentIncr(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"n": "0"})
	const n = 100
	changes := make([]sessions.Change, n)
	for i := range changes {
		changes[i] = update(ch)
		changes[i].Incr = map[string]int64{"n": 1}
	}
	saveConcurrently(t, st, id, changes)
	if got := mustLoad(t, st, id).Values["n"]; got != strconv.Itoa(n) {
		t.Fatalf("after %d concurrent increments n = %s", n, got)
	}
}

func testConcurrentKeys(t *testing.T, st sessions.Store) {
	id := NewID()
	ch := create(t, st, id, map[string]string{"base": "0"})
	const n = 50
	want := map[string]string{"base": "0"}
	changes := make([]sessions.Change, n)
	for i := range changes {
		key := fmt.Sprintf("k%d", i)
		want[key] = strconv.Itoa(i)
		changes[i] = update(ch)
		changes[i].Set = map[string]string{key: strconv.Itoa(i)}
	}
	saveConcurrently(t, st, id, changes)
	equalValues(t, mustLoad(t, st, id).Values, want)
}
