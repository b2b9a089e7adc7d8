package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
		{"ReservedKeys", testRedisReservedKeys},
		{"ManyKeys", testRedisManyKeys},
		{"Conformance", testRedisConformance},
		{"Requests", testRedisRequests},
		{"RequestEdges", testRedisRequestEdges},
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
	if trips, cmds := rt.take(); trips != 1 || !slicesEqual(cmds, []string{"GET", "GET"}) {
		t.Fatalf("a pipeline of two GETs counted as %d round trips, commands %v", trips, cmds)
	}

	// Warm up: connections are open and the scripts are in the server's
	// cache on the node that holds id.
	mustNot(t, store.Save(ctx, id, change(true)), "warm-up save")
	mustNot(t, store.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)), "warm-up touch")
	rt.take()

	ops := []struct {
		name string
		op   func() error
		want []string
	}{
		{"Save new", func() error {
			ch := change(true)
			ch.Set = map[string]string{"a": `"x"`, "b": "1", "c": "[1,2]"}
			return store.Save(ctx, id, ch)
		}, []string{"EVALSHA"}},
		{"Load", func() error {
			_, found, err := store.Load(ctx, id)
			if err == nil && !found {
				err = errors.New("not found")
			}
			return err
		}, []string{"HGETALL"}},
		{"Save update with set, delete and incr", func() error {
			ch := change(false)
			ch.Set = map[string]string{"a": `"y"`}
			ch.Delete = []string{"c"}
			ch.Incr = map[string]int64{"b": 2, "n": 1}
			return store.Save(ctx, id, ch)
		}, []string{"EVALSHA"}},
		{"Touch", func() error { return store.Touch(ctx, id, time.Now(), time.Now().Add(2*time.Hour)) }, []string{"EVALSHA"}},
		{"Delete", func() error { return store.Delete(ctx, id) }, []string{"DEL"}},
		{"Load missing", func() error {
			_, found, err := store.Load(ctx, id)
			if err == nil && found {
				err = errors.New("found after Delete")
			}
			return err
		}, []string{"HGETALL"}},
	}
	for _, o := range ops {
		mustNot(t, o.op(), "%s", o.name)
		trips, cmds := rt.take()
		if trips != 1 || !slicesEqual(cmds, o.want) {
			t.Errorf("%s: %d round trips %v, want 1 %v", o.name, trips, cmds, o.want)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, " ") == strings.Join(b, " ") }

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
		mustNot(t, store.Save(ctx, id, change(false)), "save")
		if trips, cmds := rt.take(); !slicesEqual(cmds, want) || trips != len(want) {
			t.Errorf("save after SCRIPT FLUSH: %d round trips %v, want %v", trips, cmds, want)
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
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"Created", rec.Created, created},
		{"Saved", rec.Saved, saved},
		{"Expires", rec.Expires, expires.Add(time.Minute)},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if rec.Expiry != 90*time.Minute {
		t.Errorf("Expiry = %v, want 1h30m", rec.Expiry)
	}
}

// testRedisLayout checks what an operator sees with redis-cli: one hash per
// session under prefix+id, JSON text per key, readable bookkeeping.
func testRedisLayout(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	id := newID(t)
	ch := change(true)
	ch.Created = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ch.Expiry = 30 * time.Minute
	ch.Set = map[string]string{"user": `{"name":"Ada"}`}
	mustNot(t, store.Save(ctx, id, ch), "save")

	if typ := rdb.Type(ctx, prefix+id).Val(); typ != "hash" {
		t.Fatalf("TYPE %s = %q, want hash", prefix+id, typ)
	}
	got := rdb.HGetAll(ctx, prefix+id).Val()
	const layout = "2006-01-02T15:04:05.000000000Z"
	want := map[string]string{
		"user": `{"name":"Ada"}`,
		"_session_meta": "expires=" + ch.Expires.UTC().Format(layout) +
			" seen=" + ch.Saved.UTC().Format(layout) +
			" saved=" + ch.Saved.UTC().Format(layout) +
			" expiry=30m0s created=2026-01-02T03:04:05.000000006Z uuid=" + ch.UUID,
	}
	if !maps.Equal(got, want) {
		t.Errorf("HGETALL =\n%v\nwant\n%v", got, want)
	}

	// An update rewrites the front of the bookkeeping and keeps the rest;
	// so does a touch.
	upd := change(false)
	upd.Expiry = -1
	mustNot(t, store.Save(ctx, id, upd), "save update")
	want["_session_meta"] = "expires=" + upd.Expires.UTC().Format(layout) +
		" seen=" + upd.Saved.UTC().Format(layout) +
		" saved=" + upd.Saved.UTC().Format(layout) +
		" expiry=-1ns created=2026-01-02T03:04:05.000000006Z uuid=" + ch.UUID
	if got := rdb.HGetAll(ctx, prefix+id).Val(); !maps.Equal(got, want) {
		t.Errorf("HGETALL after an update =\n%v\nwant\n%v", got, want)
	}
	touched := time.Date(2099, 12, 31, 23, 59, 59, 999999999, time.UTC)
	seen := time.Date(2026, 6, 7, 8, 9, 10, 11, time.UTC)
	mustNot(t, store.Touch(ctx, id, seen, touched), "touch")
	want["_session_meta"] = "expires=2099-12-31T23:59:59.999999999Z" +
		" seen=2026-06-07T08:09:10.000000011Z" +
		" saved=" + upd.Saved.UTC().Format(layout) +
		" expiry=-1ns created=2026-01-02T03:04:05.000000006Z uuid=" + ch.UUID
	if got := rdb.HGetAll(ctx, prefix+id).Val(); !maps.Equal(got, want) {
		t.Errorf("HGETALL after a touch =\n%v\nwant\n%v", got, want)
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
	past := "expires=" + time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000000000Z")

	tests := []struct {
		name  string
		setup func(id string) // leaves no live record under id
	}{
		{"never saved", func(string) {}},
		{"deleted", func(id string) {
			mustNot(t, store.Save(ctx, id, change(true)), "save")
			mustNot(t, store.Delete(ctx, id), "delete")
		}},
		{"expired in Redis", func(id string) {
			ch := change(true)
			ch.Expires = time.Now().Add(-time.Second)
			mustNot(t, store.Save(ctx, id, ch), "save")
		}},
		{"expired but still held by Redis", func(id string) {
			// As when the application's clock runs ahead of Redis's.
			mustNot(t, store.Save(ctx, id, change(true)), "save")
			meta := rdb.HGet(ctx, prefix+id, "_session_meta").Val()
			mustNot(t, rdb.HSet(ctx, prefix+id, "_session_meta", past+meta[len(past):]).Err(), "HSET")
			mustNot(t, rdb.Persist(ctx, prefix+id).Err(), "PERSIST")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newID(t)
			tt.setup(id)
			before := rdb.HGetAll(ctx, prefix+id).Val()

			if _, found, err := store.Load(ctx, id); found || err != nil {
				t.Errorf("Load = found %v, %v; want not found", found, err)
			}
			ch := change(false)
			ch.Set = map[string]string{"a": "1"}
			ch.Incr = map[string]int64{"n": 1}
			if err := store.Save(ctx, id, ch); !errors.Is(err, sessions.ErrInterrupted) {
				t.Errorf("Save without New = %v, want ErrInterrupted", err)
			}
			mustNot(t, store.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)), "touch")
			if after := rdb.HGetAll(ctx, prefix+id).Val(); !maps.Equal(before, after) {
				t.Errorf("record changed from %v to %v", before, after)
			}
			if _, found, _ := store.Load(ctx, id); found {
				t.Error("Save or Touch brought the record back")
			}
		})
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
		ms, err := rdb.Do(ctx, "PEXPIRETIME", prefix+id).Int64()
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
	if err != nil || !found || !rec.Expires.Equal(touched) {
		t.Errorf("after Touch: Load = %v, %v, Expires %v; want Expires %v", found, err, rec.Expires, touched)
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
			before := rdb.HGetAll(ctx, prefix+id).Val()

			upd := change(false)
			upd.Incr = map[string]int64{tt.field: 1, "i1": 1, "i2": 1, "i3": 1, "i4": 1, "fresh": 1}
			upd.Set = map[string]string{"other": "1"}
			err := store.Save(ctx, id, upd)
			if !errors.Is(err, sessions.ErrNotInteger) || !strings.HasPrefix(err.Error(), "sessions: ") {
				t.Fatalf("Save = %v, want an error wrapping ErrNotInteger", err)
			}
			if after := rdb.HGetAll(ctx, prefix+id).Val(); !maps.Equal(before, after) {
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
		{"expiry not a time", editMeta(rdb, func(m string) string { return "expires=tomorrow" + m[38:] })},
		{"creation not a time", editMeta(rdb, func(m string) string { return strings.Replace(m, " created=2", " created=X", 1) })},
		{"policy not a duration", editMeta(rdb, func(m string) string { return strings.Replace(m, " expiry=0s ", " expiry=forever ", 1) })},
		{"bookkeeping out of order", editMeta(rdb, func(m string) string {
			saved := strings.Index(m, " saved=")
			return m[saved+1:] + " " + m[:saved]
		})},
		{"bookkeeping cut short", editMeta(rdb, func(m string) string { return m[:strings.Index(m, " uuid=")] })},
		// A value stays, or the hash would go with its last field.
		{"bookkeeping missing", func(key string) error {
			return rdb.Eval(ctx, "redis.call('HSET', KEYS[1], 'cart', '[]'); return redis.call('HDEL', KEYS[1], '_session_meta')", []string{key}).Err()
		}},
		{"old layout", func(key string) error {
			return rdb.Eval(ctx, "redis.call('HSET', KEYS[1], '_session_uuid', 'u', '_session_expires', '2099-01-01T00:00:00.000000000Z'); return redis.call('HDEL', KEYS[1], '_session_meta')", []string{key}).Err()
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
			mustNot(t, tt.corrupt(prefix+id), "corrupting")
			before := len(logs.String())

			rec, found, err := store.Load(ctx, id)
			if found || err != nil {
				t.Errorf("Load = %+v, found %v, %v; want not found, no error", rec, found, err)
			}
			if report := logs.String()[before:]; !strings.Contains(report, "corrupted session") || !strings.Contains(report, prefix+id) {
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

func testRedisReservedKeys(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	_, store := testStore(t, client)
	id := newID(t)
	mustNot(t, store.Save(ctx, id, change(true)), "save")
	changes := map[string]sessions.Change{
		"set":    {Set: map[string]string{"_session_meta": `"x"`}},
		"delete": {Delete: []string{"_session_meta"}},
		"incr":   {Incr: map[string]int64{"_session_meta": 1}},
	}
	for name, ch := range changes {
		ch.Saved, ch.Expires = time.Now(), time.Now().Add(time.Hour)
		if err := store.Save(ctx, id, ch); err == nil || errors.Is(err, sessions.ErrUnavailable) {
			t.Errorf("%s of a bookkeeping field: Save = %v, want a refusal", name, err)
		}
	}
	if _, found, err := store.Load(ctx, id); !found || err != nil {
		t.Errorf("record damaged: Load = found %v, %v", found, err)
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
		{"empty braces", func() { sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix("s{}:")) }, ""},
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
			"Delete": func() error { return store.Delete(ctx, id) },
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
