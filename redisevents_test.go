package sessions_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// TestRedisExpiryEvents runs the tests of the sweep of expired logged-in
// sessions on a single server and on a real cluster.
func TestRedisExpiryEvents(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, client func(t *testing.T) redis.UniversalClient)
	}{
		{"TwoSweepers", testRedisSweepers},
		{"FollowsSlidingExpiry", testRedisSweepFollows},
		{"Redelivers", testRedisSweepRedelivers},
		{"Background", testRedisSweepBackground},
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

// hookedRedisStore returns a store on rdb under prefix that reports to a
// sink of its own, and closes it when t ends.
func hookedRedisStore(t *testing.T, rdb redis.UniversalClient, prefix string) (*sessions.RedisStore, *eventSink) {
	st := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	var sink eventSink
	st.AddHooks(sink.hooks())
	t.Cleanup(func() { st.Close() })
	return st, &sink
}

// saveUser saves a new session of principal (anonymous for "") that
// expires at expires, as a login does, and returns its id and UUID. A
// session saved already expired is gone from Redis at once.
func saveUser(t *testing.T, st *sessions.RedisStore, principal string, expires time.Time) (id, uuid string) {
	t.Helper()
	id = newID(t)
	if principal != "" {
		tag, err := st.UserTag(t.Context(), principal)
		if err != nil {
			t.Fatal(err)
		}
		id = tag + "." + id
	}
	uuid = newUUID()
	now := time.Now()
	ch := sessions.Change{New: true, UUID: uuid, Created: now.Add(-2 * time.Hour), Saved: now, Expires: expires,
		Principal: principal, Set: map[string]string{"a": `"1"`}}
	if err := st.Save(t.Context(), id, ch); err != nil {
		t.Fatal(err)
	}
	return id, uuid
}

// newUUID is a UUID in canonical form, as Session.UUID has.
func newUUID() string {
	id := newID(nil)
	return id[:8] + "-" + id[8:12] + "-4" + id[13:16] + "-8" + id[17:20] + "-" + id[20:32]
}

// testRedisSweepers: two stores sweeping together report every expired
// logged-in session, those that a listing found dead first included, with
// their users, once each at most per sweeper, and no live, revoked or
// flushed one.
func testRedisSweepers(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	a, sinkA := hookedRedisStore(t, rdb, prefix)
	b, sinkB := hookedRedisStore(t, rdb, prefix)
	ctx := t.Context()
	now := time.Now()
	past := now.Add(-time.Second)

	want := map[string]string{} // UUID → principal
	for i := range 12 {
		user := []string{"ann", "bob", "cy"}[i%3]
		_, uuid := saveUser(t, a, user, past)
		want[uuid] = user
	}
	var live []string
	for _, user := range []string{"ann", "bob", "dee"} {
		_, uuid := saveUser(t, a, user, now.Add(time.Hour))
		live = append(live, uuid)
	}
	_, revoked := saveUser(t, a, "eve", now.Add(time.Hour))
	if _, err := sessions.RevokeUserSessions(ctx, a, "eve"); err != nil {
		t.Fatal(err)
	}
	if got := sinkA.take(sessions.EventRevoked); !slices.Equal(got, []string{revoked}) {
		t.Fatalf("revoked %q, want %s", got, revoked)
	}
	flushedID, flushed := saveUser(t, a, "fay", now.Add(time.Hour))
	if _, err := a.Delete(ctx, flushedID); err != nil {
		t.Fatal(err)
	}
	saveUser(t, a, "", past) // anonymous: no index knows it
	// A listing finds cy's expired sessions first: the sweep still reports
	// them.
	if infos, err := sessions.UserSessions(ctx, a, "cy"); err != nil || len(infos) != 0 {
		t.Fatalf("cy's sessions: %v, %v", infos, err)
	}

	later := now.Add(2 * time.Minute)
	var wg sync.WaitGroup
	for _, st := range []*sessions.RedisStore{a, b} {
		wg.Go(func() {
			if err := sessions.RedisSweep(st, ctx, later); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	got := map[string]string{}
	for _, sink := range []*eventSink{sinkA, sinkB} {
		sink.mu.Lock()
		for _, e := range sink.events {
			switch {
			case e.Kind != sessions.EventExpired:
			case slices.Contains(live, e.UUID) || e.UUID == revoked || e.UUID == flushed:
				t.Errorf("%s reported expired: live, revoked or flushed", e.UUID)
			default:
				got[e.UUID] = e.Principal
			}
		}
		sink.events = nil
		sink.mu.Unlock()
	}
	if len(got) != len(want) {
		t.Fatalf("reported %d expired sessions, want %d", len(got), len(want))
	}
	for uuid, user := range want {
		if got[uuid] != user {
			t.Errorf("%s: reported for %q, want %q", uuid, got[uuid], user)
		}
	}

	// Reported and acknowledged: a later sweep has nothing to say.
	if err := sessions.RedisSweep(a, ctx, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := sinkA.take(sessions.EventExpired); len(got) != 0 {
		t.Fatalf("a second sweep reported %q again", got)
	}
}

// testRedisSweepFollows: a session that outlives the minute its login
// scheduled is swept again at its later expiry, and reported then.
func testRedisSweepFollows(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	st, sink := hookedRedisStore(t, rdb, prefix)
	ctx := t.Context()
	now := time.Now()
	id, uuid := saveUser(t, st, "ann", now.Add(time.Minute))
	// The session slides to an hour before its first scheduled minute.
	up := sessions.Change{Saved: now, Expires: now.Add(time.Hour), Principal: "ann"}
	if err := st.Save(ctx, id, up); err != nil {
		t.Fatal(err)
	}
	if err := sessions.RedisSweep(st, ctx, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(sessions.EventExpired); len(got) != 0 {
		t.Fatalf("a live session reported expired: %q", got)
	}
	// Redis forgets it, as its TTL would at its expiry.
	if err := rdb.Del(ctx, sessions.RedisKey(prefix, id)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := sessions.RedisSweep(st, ctx, now.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(sessions.EventExpired); len(got) != 0 {
		t.Fatalf("reported before the session's expiry: %q", got)
	}
	if err := sessions.RedisSweep(st, ctx, now.Add(time.Hour+2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(sessions.EventExpired); !slices.Equal(got, []string{uuid}) {
		t.Fatalf("reported %q at the later expiry, want %s", got, uuid)
	}
}

// testRedisSweepRedelivers: a sweep that reports but cannot remove what it
// reported (the process died) leaves it to the next, which reports it
// again.
func testRedisSweepRedelivers(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	st := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var reported []string
	st.AddHooks(sessions.Hooks{Event: func(_ context.Context, e sessions.Event) {
		mu.Lock()
		reported = append(reported, e.UUID)
		mu.Unlock()
		cancel()
	}})
	now := time.Now()
	_, uuid := saveUser(t, st, "ann", now.Add(-time.Second))
	if err := sessions.RedisSweep(st, ctx, now.Add(2*time.Minute)); err == nil {
		t.Fatal("the sweep went on after its context ended")
	}
	if err := sessions.RedisSweep(st, t.Context(), now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(reported, []string{uuid, uuid}) {
		t.Fatalf("reported %q, want the session twice", reported)
	}
}

// testRedisSweepBackground: the sweep that the middleware's hooks start
// runs by itself at its interval and reports through them, and Close stops
// it (TestMain checks that no goroutine is left).
func testRedisSweepBackground(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	st := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix), sessions.WithRedisSweepInterval(10*time.Millisecond))
	defer st.Close()
	var sink eventSink
	sessions.Middleware(st, sessions.WithHooks(sink.hooks()))
	_, uuid := saveUser(t, st, "ann", time.Now().Add(-2*time.Minute)) // in a minute already past
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := sink.take(sessions.EventExpired); len(got) > 0 {
			if !slices.Equal(got, []string{uuid}) {
				t.Fatalf("reported %q, want %s", got, uuid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background sweep reported nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
