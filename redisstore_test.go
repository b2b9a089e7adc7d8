package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// TestRedisStore runs the store's own tests on a single server and on a real
// three-master cluster. Each deployment is started once and shared by the
// subtests, which keep apart through key prefixes of their own.
func TestRedisStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, client func(t *testing.T) redis.UniversalClient)
	}{
		{"RoundTrips", testRedisRoundTrips},
		{"RoundTripsAfterScriptFlush", testRedisScriptFlush},
		{"Record", testRedisRecord},
		{"Layout", testRedisLayout},
		{"NewReplaces", testRedisNewReplaces},
		{"ConcurrentIncr", testRedisConcurrentIncr},
		{"ConcurrentKeys", testRedisConcurrentKeys},
		{"NoResurrection", testRedisNoResurrection},
		{"TTL", testRedisTTL},
		{"NotInteger", testRedisNotInteger},
		{"Corrupted", testRedisCorrupted},
		{"MarkedKeys", testRedisMarkedKeys},
		{"ManyKeys", testRedisManyKeys},
		{"Conformance", testRedisConformance},
		{"MiddlewareConformance", testRedisMiddlewareConformance},
		{"Requests", testRedisRequests},
		{"RequestEdges", testRedisRequestEdges},
		{"TxLeftover", testRedisTxLeftover},
		{"TxWrongType", testRedisTxWrongType},
		{"TxConcurrentDelete", testRedisTxConcurrentDelete},
	}
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) {
			client := b.start(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, client) })
			}
		})
	}
}

// change returns a Change that keeps a record for an hour.
func change(isNew bool) sessions.Change {
	now := time.Now()
	ch := sessions.Change{New: isNew, Saved: now, Expires: now.Add(time.Hour)}
	if isNew {
		ch.UUID, ch.Created = "8c7f0a4e-5b8a-4c1e-9f44-3d2a1b0c9e8f", now
	}
	return ch
}

// incrChange is an update that increments, which Save runs as a script.
func incrChange() sessions.Change {
	ch := change(false)
	ch.Incr = map[string]int64{"n": 1}
	return ch
}

func testRedisRoundTrips(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	rt := countRoundTrips(rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb)))
	id := newID(t)

	// The counter itself: a pipeline is one round trip of several commands.
	// The first one also opens a connection, whose handshake (HELLO, CLIENT
	// SETINFO) goes through the hooks too; the second is counted alone.
	for range 2 {
		rt.take()
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Get(ctx, "sessionstest:absent:a")
			p.Get(ctx, "sessionstest:absent:a")
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
	}
	if trips := rt.take(); !slices.Equal(trips, []string{"GET+GET"}) {
		t.Fatalf("a pipeline of two GETs counted as %v", trips)
	}

	// Warm up: connections are open and the scripts are in the server's
	// cache on the node that holds id.
	mustNot(t, store.Save(ctx, id, change(true)), "warm-up save")
	mustNot(t, store.Save(ctx, id, change(false)), "warm-up update")
	mustNot(t, store.Save(ctx, id, incrChange()), "warm-up increment")
	mustNot(t, deleteErr(ctx, store, id), "warm-up delete")
	mustNot(t, store.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)), "warm-up touch")
	rt.take()

	ops := []struct {
		name string
		op   func() error
		want string
	}{
		{"Save new", func() error {
			ch := change(true)
			ch.Set = map[string]string{"a": `"x"`, "b": "1", "c": "[1,2]"}
			return store.Save(ctx, id, ch)
		}, "MULTI+HSET+HLEN+PEXPIREAT+EXEC"},
		{"Load", func() error {
			_, found, err := store.Load(ctx, id)
			if err == nil && !found {
				err = errors.New("not found")
			}
			return err
		}, "HGETALL"},
		{"Save update with set and delete", func() error {
			ch := change(false)
			ch.Set = map[string]string{"a": `"z"`}
			ch.Delete = []string{"b"}
			return store.Save(ctx, id, ch)
		}, txSave},
		{"Save update with set, delete and incr", func() error {
			ch := change(false)
			ch.Set = map[string]string{"a": `"y"`}
			ch.Delete = []string{"c"}
			ch.Incr = map[string]int64{"b": 2, "n": 1}
			return store.Save(ctx, id, ch)
		}, "EVALSHA"},
		{"Touch", func() error { return store.Touch(ctx, id, time.Now(), time.Now().Add(2*time.Hour)) }, "EVALSHA"},
		{"Delete", func() error { return deleteErr(ctx, store, id) }, "DEL"},
		{"Load missing", func() error {
			_, found, err := store.Load(ctx, id)
			if err == nil && found {
				err = errors.New("found after Delete")
			}
			return err
		}, "HGETALL"},
	}
	for _, o := range ops {
		mustNot(t, o.op(), "%s", o.name)
		if trips := rt.take(); !slices.Equal(trips, []string{o.want}) {
			t.Errorf("%s: round trips %v, want one: %s", o.name, trips, o.want)
		}
	}
}

// testRedisScriptFlush pins down the one documented exception: after the
// script cache is emptied, the next run of a script costs a second round trip
// to send its source, and later runs cost one again.
func testRedisScriptFlush(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb, store := testStore(t, client)
	id := newID(t)
	mustNot(t, store.Save(ctx, id, change(true)), "save")
	mustNot(t, rdb.ScriptFlush(ctx).Err(), "SCRIPT FLUSH")

	rt := countRoundTrips(rdb)
	for _, want := range [][]string{{"EVALSHA", "EVAL"}, {"EVALSHA"}} {
		mustNot(t, store.Save(ctx, id, incrChange()), "save")
		if trips := rt.take(); !slices.Equal(trips, want) {
			t.Errorf("save after SCRIPT FLUSH: round trips %v, want %v", trips, want)
		}
	}
}

func testRedisRecord(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	id := newID(t)
	created := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))
	expires := time.Now().Add(time.Hour)
	mustNot(t, store.Save(ctx, id, sessions.Change{
		New: true, UUID: "u-1", Created: created, Saved: created, Expires: expires,
		Expiry: -1, Set: map[string]string{"name": `"Ada"`, "_session_flashes": `["hi"]`},
		Incr: map[string]int64{"visits": 3},
	}), "save new")

	saved := time.Now()
	mustNot(t, store.Save(ctx, id, sessions.Change{
		Saved: saved, Expires: expires.Add(time.Minute), Expiry: 90 * time.Minute,
		Set: map[string]string{"cart": `{"items":[1,2]}`}, Delete: []string{"name"},
		Incr: map[string]int64{"visits": -1},
		// Written only with New: an update keeps the record's own.
		UUID: "ignored", Created: saved,
	}), "save update")

	rec, found, err := store.Load(ctx, id)
	if err != nil || !found {
		t.Fatalf("Load = found %v, %v", found, err)
	}
	want := map[string]string{"cart": `{"items":[1,2]}`, "_session_flashes": `["hi"]`, "visits": "2"}
	if !maps.Equal(rec.Values, want) {
		t.Errorf("Values = %v, want %v", rec.Values, want)
	}
	if rec.UUID != "u-1" {
		t.Errorf("UUID = %q, want u-1", rec.UUID)
	}
	// Times are kept to the millisecond: rounded down, but the expiry up,
	// so that Redis never forgets a record before Load would.
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"Created", rec.Created, created.Truncate(time.Millisecond)},
		{"Saved", rec.Saved, saved.Truncate(time.Millisecond)},
		{"Expires", rec.Expires, ceilMilli(expires.Add(time.Minute))},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if rec.Expiry != 90*time.Minute {
		t.Errorf("Expiry = %v, want 1h30m", rec.Expiry)
	}
}

// ceilMilli rounds t up to the millisecond.
func ceilMilli(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

// testRedisLayout checks what an operator sees with redis-cli: one hash per
// session under the prefix and the first 32 hex digits of the id, in the
// compact listpack encoding, JSON text per key, and the store's own fields
// holding integers.
func testRedisLayout(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	id := newID(t)
	key := prefix + id[:32]
	if got := sessions.RedisKey(prefix, id); got != key {
		t.Fatalf("key of %s = %q, want %q", id, got, key)
	}
	base := time.Now().Truncate(time.Millisecond)
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	ch := sessions.Change{
		New: true, UUID: "8c7f0a4e-5b8a-4c1e-9f44-3d2a1b0c9e8f",
		Created: base.Add(-2 * time.Second), Saved: base, Expires: base.Add(time.Hour), Expiry: 30 * time.Minute,
		Set: map[string]string{"user": `{"name":"Ada"}`, "@at": `"home"`, "": "0"},
	}
	mustNot(t, store.Save(ctx, id, ch), "save")

	if typ := rdb.Type(ctx, key).Val(); typ != "hash" {
		t.Fatalf("TYPE %s = %q, want hash", key, typ)
	}
	if enc := rdb.ObjectEncoding(ctx, key).Val(); enc != "listpack" {
		t.Errorf("OBJECT ENCODING %s = %q, want listpack", key, enc)
	}
	uuidBytes := "\x8c\x7f\x0a\x4e\x5b\x8a\x4c\x1e\x9f\x44\x3d\x2a\x1b\x0c\x9e\x8f"
	want := map[string]string{
		"user": `{"name":"Ada"}`, "@@at": `"home"`, "": "0",
		"@u": uuidBytes, "@c": ms(ch.Created), "@s": ms(base), "@x": "3600000", "@p": "1800000000000",
	}
	check := func(when string) {
		t.Helper()
		if got := rdb.HGetAll(ctx, key).Val(); !maps.Equal(got, want) {
			t.Errorf("HGETALL %s =\n%q\nwant\n%q", when, got, want)
		}
	}
	check("after a new save")

	// An update rewrites @s and @x, and the policy.
	upd := sessions.Change{Saved: base.Add(3 * time.Second), Expires: base.Add(2*time.Hour + 500*time.Microsecond), Expiry: -1}
	mustNot(t, store.Save(ctx, id, upd), "save update")
	want["@s"], want["@x"], want["@p"] = ms(base.Add(3*time.Second)), "7197001", "-1"
	check("after an update")

	// A touch writes @l and @x only.
	mustNot(t, store.Touch(ctx, id, base.Add(4*time.Second), base.Add(3*time.Hour)), "touch")
	want["@l"], want["@x"] = "1000", "10797000"
	check("after a touch")
	if rec, _, err := store.Load(ctx, id); err != nil || !rec.LastSeen.Equal(base.Add(4*time.Second)) {
		t.Errorf("after a touch: Load = LastSeen %v, %v; want %v", rec.LastSeen, err, base.Add(4*time.Second))
	}

	// An Incr runs the script, which writes the same fields, and a save is
	// a sighting there too: @l goes.
	inc := sessions.Change{Saved: base.Add(4500 * time.Millisecond), Expires: base.Add(2 * time.Hour), Expiry: -1, Incr: map[string]int64{"": 2}}
	mustNot(t, store.Save(ctx, id, inc), "save an increment")
	delete(want, "@l")
	want["@s"], want["@x"], want[""] = ms(inc.Saved), "7195500", "2"
	check("after an increment")

	// A save is a sighting: @l goes, and so does a policy of 0.
	mustNot(t, store.Touch(ctx, id, base.Add(4600*time.Millisecond), base.Add(3*time.Hour)), "touch")
	upd = sessions.Change{Saved: base.Add(5 * time.Second), Expires: base.Add(4 * time.Hour)}
	mustNot(t, store.Save(ctx, id, upd), "save update")
	delete(want, "@l")
	delete(want, "@p")
	want["@s"], want["@x"] = ms(base.Add(5*time.Second)), "14395000"
	check("after an update with the default policy")

	// A store field this version does not know, as a later one may add, is
	// neither a value nor damage.
	mustNot(t, rdb.HSet(ctx, key, "@z", "later").Err(), "HSET @z")
	rec, found, err := store.Load(ctx, id)
	if err != nil || !found {
		t.Fatalf("Load = found %v, %v", found, err)
	}
	if wantValues := map[string]string{"user": `{"name":"Ada"}`, "@at": `"home"`, "": "2"}; !maps.Equal(rec.Values, wantValues) {
		t.Errorf("Values = %v, want %v", rec.Values, wantValues)
	}
	// Past hash-max-listpack-value (64 bytes), Redis falls back to its
	// hashtable encoding, for that session only.
	long := sessions.Change{Saved: base.Add(6 * time.Second), Expires: base.Add(time.Hour), Set: map[string]string{"note": `"` + strings.Repeat("x", 63) + `"`}}
	mustNot(t, store.Save(ctx, id, long), "save a long value")
	if enc := rdb.ObjectEncoding(ctx, key).Val(); enc != "hashtable" {
		t.Errorf("OBJECT ENCODING with a 65-byte value = %q, want hashtable", enc)
	}
	if rec.UUID != ch.UUID || !rec.Created.Equal(ch.Created) || !rec.Saved.Equal(upd.Saved) || !rec.LastSeen.Equal(upd.Saved) || !rec.Expires.Equal(upd.Expires) || rec.Expiry != 0 {
		t.Errorf("Load = %+v, want UUID %s, Created %v, Saved %v, Expires %v, Expiry 0", rec, ch.UUID, ch.Created, upd.Saved, upd.Expires)
	}
}

func testRedisNewReplaces(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	id := newID(t)
	first := change(true)
	first.Set = map[string]string{"old": "1"}
	mustNot(t, store.Save(ctx, id, first), "first save")
	second := change(true)
	second.UUID = "second"
	second.Set = map[string]string{"new": "2"}
	mustNot(t, store.Save(ctx, id, second), "second save")

	rec, found, err := store.Load(ctx, id)
	if err != nil || !found {
		t.Fatalf("Load = found %v, %v", found, err)
	}
	if !maps.Equal(rec.Values, map[string]string{"new": "2"}) || rec.UUID != "second" {
		t.Errorf("after a second New save: Values %v, UUID %q; want only the second record", rec.Values, rec.UUID)
	}
}

func testRedisConcurrentIncr(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	id := newID(t)
	mustNot(t, store.Save(ctx, id, change(true)), "save new")

	const n = 100
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ch := change(false)
			ch.Incr = map[string]int64{"count": 1}
			errs <- store.Save(ctx, id, ch)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNot(t, err, "concurrent Incr save")
	}
	rec, _, err := store.Load(ctx, id)
	mustNot(t, err, "load")
	if got := rec.Values["count"]; got != strconv.Itoa(n) {
		t.Errorf("after %d concurrent Incr(+1): count = %q, want %d", n, got, n)
	}
}

func testRedisConcurrentKeys(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	id := newID(t)
	start := change(true)
	start.Set = map[string]string{"doomed": "0"}
	mustNot(t, store.Save(ctx, id, start), "save new")

	const n = 50
	errs := make(chan error, n+1)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ch := change(false)
			ch.Set = map[string]string{fmt.Sprintf("k%d", i): strconv.Itoa(i)}
			errs <- store.Save(ctx, id, ch)
		})
	}
	wg.Go(func() {
		ch := change(false)
		ch.Delete = []string{"doomed"}
		errs <- store.Save(ctx, id, ch)
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNot(t, err, "concurrent save")
	}
	rec, _, err := store.Load(ctx, id)
	mustNot(t, err, "load")
	want := map[string]string{}
	for i := range n {
		want[fmt.Sprintf("k%d", i)] = strconv.Itoa(i)
	}
	if !maps.Equal(rec.Values, want) {
		t.Errorf("after concurrent saves of different keys: %d values %v, want %d", len(rec.Values), rec.Values, n)
	}
}

func testRedisNoResurrection(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))

	tests := []struct {
		name  string
		setup func(id string) // leaves no live record under id
	}{
		{"never saved", func(string) {}},
		{"deleted", func(id string) {
			mustNot(t, store.Save(ctx, id, change(true)), "save")
			mustNot(t, deleteErr(ctx, store, id), "delete")
		}},
		{"expired in Redis", func(id string) {
			ch := change(true)
			ch.Expires = time.Now().Add(-time.Second)
			mustNot(t, store.Save(ctx, id, ch), "save")
		}},
		{"expired but still held by Redis", func(id string) {
			// As when the application's clock runs ahead of Redis's.
			mustNot(t, store.Save(ctx, id, change(true)), "save")
			key := sessions.RedisKey(prefix, id)
			mustNot(t, rdb.HSet(ctx, key, "@x", -time.Minute.Milliseconds()).Err(), "HSET")
			mustNot(t, rdb.Persist(ctx, key).Err(), "PERSIST")
		}},
	}
	// A save with an Incr runs the script, which leaves the dead record as
	// it is; one without, the transaction, which deletes what is left.
	saves := []struct {
		name    string
		incr    bool
		deletes bool
	}{{"script", true, false}, {"transaction", false, true}}
	for _, sv := range saves {
		for _, tt := range tests {
			t.Run(sv.name+"/"+tt.name, func(t *testing.T) {
				id := newID(t)
				tt.setup(id)
				key := sessions.RedisKey(prefix, id)
				before := rdb.HGetAll(ctx, key).Val()

				if _, found, err := store.Load(ctx, id); found || err != nil {
					t.Errorf("Load = found %v, %v; want not found", found, err)
				}
				ch := change(false)
				ch.Set = map[string]string{"a": "1"}
				if sv.incr {
					ch.Incr = map[string]int64{"n": 1}
				}
				if err := store.Save(ctx, id, ch); !errors.Is(err, sessions.ErrInterrupted) {
					t.Errorf("Save without New = %v, want ErrInterrupted", err)
				}
				mustNot(t, store.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)), "touch")
				after := rdb.HGetAll(ctx, key).Val()
				if !maps.Equal(before, after) && !(sv.deletes && len(after) == 0) {
					t.Errorf("record changed from %v to %v", before, after)
				}
				if _, found, _ := store.Load(ctx, id); found {
					t.Error("Save or Touch brought the record back")
				}
			})
		}
	}
}

func testRedisTTL(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	id := newID(t)
	expireTime := func() int64 {
		t.Helper()
		ms, err := rdb.Do(ctx, "PEXPIRETIME", sessions.RedisKey(prefix, id)).Int64()
		mustNot(t, err, "PEXPIRETIME")
		return ms
	}

	ch := change(true)
	ch.Expires = time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
	mustNot(t, store.Save(ctx, id, ch), "save")
	if got, want := expireTime(), ch.Expires.UnixMilli(); got != want {
		t.Errorf("after Save: PEXPIRETIME = %d, want %d (Expires)", got, want)
	}

	// A sub-millisecond expiry rounds up: Redis never forgets early.
	touched := time.UnixMilli(time.Now().Add(2 * time.Hour).UnixMilli()).Add(time.Microsecond)
	mustNot(t, store.Touch(ctx, id, time.Now(), touched), "touch")
	if got, want := expireTime(), touched.UnixMilli()+1; got != want {
		t.Errorf("after Touch: PEXPIRETIME = %d, want %d", got, want)
	}
	rec, found, err := store.Load(ctx, id)
	if want := time.UnixMilli(touched.UnixMilli() + 1); err != nil || !found || !rec.Expires.Equal(want) {
		t.Errorf("after Touch: Load = %v, %v, Expires %v; want Expires %v", found, err, rec.Expires, want)
	}

	upd := change(false)
	upd.Expires = time.UnixMilli(time.Now().Add(3 * time.Hour).UnixMilli())
	mustNot(t, store.Save(ctx, id, upd), "save update")
	if got, want := expireTime(), upd.Expires.UnixMilli(); got != want {
		t.Errorf("after an update: PEXPIRETIME = %d, want %d", got, want)
	}
}

func testRedisNotInteger(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))

	tests := []struct {
		name, field, value string
	}{
		{"a string", "bad", `"seven"`},
		{"a float", "bad", "7.5"},
		{"an object", "bad", `{"n":1}`},
		{"the largest integer", "bad", "9223372036854775807"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newID(t)
			ch := change(true)
			// Several integers, so that in most orders some are incremented
			// before the bad one and must be put back.
			ch.Set = map[string]string{tt.field: tt.value, "i1": "1", "i2": "2", "i3": "3", "i4": "4"}
			mustNot(t, store.Save(ctx, id, ch), "save")
			key := sessions.RedisKey(prefix, id)
			before := rdb.HGetAll(ctx, key).Val()

			upd := change(false)
			upd.Incr = map[string]int64{tt.field: 1, "i1": 1, "i2": 1, "i3": 1, "i4": 1, "fresh": 1}
			upd.Set = map[string]string{"other": "1"}
			err := store.Save(ctx, id, upd)
			if !errors.Is(err, sessions.ErrNotInteger) || !strings.HasPrefix(err.Error(), "sessions: ") {
				t.Fatalf("Save = %v, want an error wrapping ErrNotInteger", err)
			}
			if after := rdb.HGetAll(ctx, key).Val(); !maps.Equal(before, after) {
				t.Errorf("a failed Save changed the record from\n%v\nto\n%v", before, after)
			}
		})
	}
}

func testRedisCorrupted(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	logger, logs := newLogger()
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix), sessions.WithRedisLogger(logger))

	tests := []struct {
		name    string
		corrupt func(key string) error
	}{
		{"value not JSON", func(key string) error { return rdb.HSet(ctx, key, "cart", "{not json").Err() }},
		{"creation not a number", setField(rdb, "@c", "yesterday")},
		{"save not a number", setField(rdb, "@s", "1.5")},
		{"expiry not a number", setField(rdb, "@x", "")},
		{"policy not a number", setField(rdb, "@p", "30m")},
		{"UUID of the wrong size", setField(rdb, "@u", "0123456789")},
		{"creation missing", deleteField(rdb, "@c")},
		{"expiry missing", deleteField(rdb, "@x")},
		{"UUID missing", deleteField(rdb, "@u")},
		{"previous layout", func(key string) error {
			return rdb.Eval(ctx, "redis.call('DEL', KEYS[1]); return redis.call('HSET', KEYS[1], 'cart', '[]', '_session_meta', 'expires=2099-12-10T07:40:32.105093463Z saved=2026-11-26T07:40:32.105093463Z expiry=0s created=2026-11-26T07:40:32.081758667Z uuid=59d670ca-a994-445d-83c7-c769c9e22acb')", []string{key}).Err()
		}},
		{"not a hash", func(key string) error { return rdb.Set(ctx, key, "a string", time.Hour).Err() }},
		{"a list", func(key string) error {
			if err := rdb.Del(ctx, key).Err(); err != nil {
				return err
			}
			return rdb.RPush(ctx, key, "x").Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newID(t)
			mustNot(t, store.Save(ctx, id, change(true)), "save")
			key := sessions.RedisKey(prefix, id)
			mustNot(t, tt.corrupt(key), "corrupting")
			before := len(logs.String())

			rec, found, err := store.Load(ctx, id)
			if found || err != nil {
				t.Errorf("Load = %+v, found %v, %v; want not found, no error", rec, found, err)
			}
			if report := logs.String()[before:]; !strings.Contains(report, "corrupted session") || !strings.Contains(report, key) {
				t.Errorf("corruption not reported to the logger; it got %q", report)
			}

			// A New save under the same id replaces the corrupted key,
			// whatever its type.
			mustNot(t, store.Save(ctx, id, change(true)), "save new over corrupted data")
			if _, found, err := store.Load(ctx, id); !found || err != nil {
				t.Errorf("Load after a new save = found %v, %v", found, err)
			}
		})
	}
}

// testRedisMarkedKeys saves session keys named like the store's own fields:
// they are kept apart from them, in every kind of change.
func testRedisMarkedKeys(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	tests := []struct {
		name string
		key  string
	}{
		{"creation", "@c"},
		{"expiry", "@x"},
		{"UUID", "@u"},
		{"unknown", "@z"},
		{"escaped", "@@x"},
		{"the mark alone", "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newID(t)
			ch := change(true)
			ch.Set = map[string]string{tt.key: `"new"`}
			mustNot(t, store.Save(ctx, id, ch), "save new")
			steps := []struct {
				ch   sessions.Change
				want string // "" means absent
			}{
				{sessions.Change{Set: map[string]string{tt.key: "5"}}, "5"},
				{sessions.Change{Incr: map[string]int64{tt.key: 2}}, "7"},
				{sessions.Change{Delete: []string{tt.key}}, ""},
				{sessions.Change{Incr: map[string]int64{tt.key: 1}}, "1"},
			}
			for i, st := range steps {
				st.ch.Saved, st.ch.Expires = time.Now(), time.Now().Add(time.Hour)
				mustNot(t, store.Save(ctx, id, st.ch), "save %d", i+1)
				rec, found, err := store.Load(ctx, id)
				if err != nil || !found {
					t.Fatalf("after save %d: Load = found %v, %v; the record was damaged", i+1, found, err)
				}
				want := map[string]string{}
				if st.want != "" {
					want[tt.key] = st.want
				}
				if !maps.Equal(rec.Values, want) {
					t.Fatalf("after save %d: Values = %v, want %v", i+1, rec.Values, want)
				}
				if rec.UUID != ch.UUID {
					t.Fatalf("after save %d: UUID = %q, want %q", i+1, rec.UUID, ch.UUID)
				}
			}
		})
	}
}

// testRedisManyKeys saves changes too large for one HSET or HDEL inside the
// script, which splits them, and checks that nothing is lost on the way.
func testRedisManyKeys(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	id := newID(t)
	const n = 2501
	first := change(true)
	first.Set = map[string]string{}
	for i := range n {
		first.Set[fmt.Sprintf("k%d", i)] = strconv.Itoa(i)
	}
	mustNot(t, store.Save(ctx, id, first), "save new")

	upd := change(false)
	upd.Set = map[string]string{}
	upd.Incr = map[string]int64{}
	want := map[string]string{}
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		switch i % 3 {
		case 0:
			upd.Delete = append(upd.Delete, k)
		case 1:
			upd.Set[k] = `"s"`
			want[k] = `"s"`
		case 2:
			upd.Incr[k] = 1
			want[k] = strconv.Itoa(i + 1)
		}
	}
	for i := range n {
		k := fmt.Sprintf("new%d", i)
		upd.Set[k] = "[]"
		want[k] = "[]"
	}
	mustNot(t, store.Save(ctx, id, upd), "save update")

	rec, found, err := store.Load(ctx, id)
	if err != nil || !found {
		t.Fatalf("Load = found %v, %v", found, err)
	}
	if !maps.Equal(rec.Values, want) {
		t.Errorf("after saving %d sets, %d deletes and %d increments: %d values, want %d",
			len(upd.Set), len(upd.Delete), len(upd.Incr), len(rec.Values), len(want))
	}
	if rec.UUID != first.UUID {
		t.Errorf("UUID = %q, want %q", rec.UUID, first.UUID)
	}
}

// TestRedisStoreOptions checks the settings that cannot work.
func TestRedisStoreOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	tests := []struct {
		name   string
		make   func()
		panics string // "" means no panic
	}{
		{"default", func() { sessions.NewRedisStore(rdb) }, ""},
		{"empty prefix", func() { sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("")) }, ""},
		// A user's keys carry their own hash tag after the prefix; a brace
		// in the prefix would change it (Cluster: CROSSSLOT at every login).
		{"empty braces", func() { sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("s{}:")) }, "remove the braces"},
		{"open brace", func() { sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("s{:")) }, "remove the braces"},
		{"close brace", func() { sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("s}:")) }, "remove the braces"},
		{"nil logger", func() { sessions.NewRedisStore(rdb, sessions.WithRedisLogger(nil)) }, ""},
		{"nil client", func() { sessions.NewRedisStore(nil) }, "needs a Redis client"},
		{"hash tag", func() { sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("{sessions}:")) }, "remove the braces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				switch {
				case tt.panics == "" && r != nil:
					t.Errorf("panicked: %v", r)
				case tt.panics != "" && !strings.Contains(msg, tt.panics):
					t.Errorf("panic = %v, want a message with %q", r, tt.panics)
				case tt.panics != "" && !strings.HasPrefix(msg, "sessions: "):
					t.Errorf("panic message %q does not start with \"sessions: \"", msg)
				}
			}()
			tt.make()
		})
	}
}

// TestRedisStoreUnreachable checks that every operation on a server that is
// not there fails with an error wrapping ErrUnavailable, and that a request
// whose context is over fails the same way.
func TestRedisStoreUnreachable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	store := sessions.NewRedisStore(rdb)
	id := newID(t)
	done, cancel := context.WithCancel(t.Context())
	cancel()

	for _, ctx := range []context.Context{t.Context(), done} {
		ops := map[string]func() error{
			"Load":   func() error { _, _, err := store.Load(ctx, id); return err },
			"Save":   func() error { return store.Save(ctx, id, change(true)) },
			"Delete": func() error { return deleteErr(ctx, store, id) },
			"Touch":  func() error { return store.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)) },
		}
		for name, op := range ops {
			err := op()
			if !errors.Is(err, sessions.ErrUnavailable) || !strings.HasPrefix(err.Error(), "sessions: ") {
				t.Errorf("%s (context err %v) = %v, want an error wrapping ErrUnavailable", name, ctx.Err(), err)
			}
		}
	}
}
