package sessions_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// TestRedisUsers runs the per-user index's own tests on a single server and
// on a real three-master cluster. The conformance suite's per-user cases run
// in TestRedisStore's Conformance.
func TestRedisUsers(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, client func(t *testing.T) redis.UniversalClient)
	}{
		{"Requests", testRedisUserRequests},
		{"Layout", testRedisUserLayout},
		{"IndexCleansItself", testRedisUserIndexCleans},
		{"TagKey", testRedisTagKey},
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

// testRedisUserRequests counts the Redis commands of a logged-in user's
// requests through a real gin engine: what docs/redis.md promises.
func testRedisUserRequests(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	rdb := client(t)
	warmScripts(t, rdb)
	rt := countRoundTrips(rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb)))
	engine := newEngine(store, nil, userRoutes(store))
	if _, err := store.UserTag(t.Context(), "warm-up"); err != nil { // fetches the tag key once
		t.Fatal(err)
	}
	other := loggedIn(t, engine, "ada")
	browser := newClient(t, engine)
	for _, step := range []struct{ method, path, body, commands string }{
		{http.MethodPost, "/login?user=ada", "ok", "EVALSHA"}, // no cookie yet: nothing to load or delete
		{http.MethodGet, "/none", "plain", ""},
		{http.MethodGet, "/me", "ada", "HGETALL"},
		{http.MethodGet, "/count", "1", "HGETALL EVALSHA"},
		{http.MethodGet, "/sessions", "", "HGETALL EVALSHA"}, // the load, then the listing
		{http.MethodPost, "/revoke-others", "1", "HGETALL EVALSHA"},
		{http.MethodPost, "/revoke-all?user=ada", "1", "EVALSHA"}, // no load: the route reads no session
		{http.MethodGet, "/me", "", "HGETALL"},
	} {
		rt.take()
		rec := browser.do(step.method, step.path)
		trips := rt.take()
		if rec.Code != http.StatusOK || (step.body != "" && rec.Body.String() != step.body) {
			t.Errorf("%s %s = %d %q, want 200 %q", step.method, step.path, rec.Code, rec.Body, step.body)
		}
		if got := strings.Join(trips, " "); got != step.commands {
			t.Errorf("%s %s: %d round trips [%s], want [%s]", step.method, step.path, len(trips), got, step.commands)
		}
	}
	if got := body(t, other, http.MethodGet, "/me"); got != "" {
		t.Errorf("the other device is still logged in as %q", got)
	}
	// A visitor with an anonymous session logs in: its load, the delete of
	// its record (CycleKey), the new one, which with a cap also revokes the
	// user's least recently seen sessions in the same run.
	for _, tc := range []struct {
		name     string
		opts     []sessions.Option
		commands string
	}{
		{"anonymous first", nil, "HGETALL DEL EVALSHA"},
		{"anonymous first, with a cap", []sessions.Option{sessions.WithMaxSessionsPerUser(3)}, "HGETALL DEL EVALSHA"},
	} {
		visitor := newClient(t, newEngine(store, tc.opts, userRoutes(store)))
		visitor.get("/count")
		rt.take()
		visitor.do(http.MethodPost, "/login?user=ada")
		if got := strings.Join(rt.take(), " "); got != tc.commands {
			t.Errorf("%s: login: [%s], want [%s]", tc.name, got, tc.commands)
		}
	}
}

// userKeys returns the keys of the record of c's session, of user, and of
// the user's index.
func userKeys(t *testing.T, store *sessions.RedisStore, prefix, user string, c *client) (record, index string) {
	t.Helper()
	tag, err := store.UserTag(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	token := c.cookie("sessionid")
	if !strings.HasPrefix(token, tag+".") {
		t.Fatalf("the token %.10s… does not start with the user's tag %s", token, tag)
	}
	return sessions.RedisKey(prefix, sessions.StoreID(token)), sessions.RedisUserIndex(prefix, tag, user)
}

// testRedisUserLayout checks where a logged-in session lives: its record and
// its user's index in one hash slot, the record still compact with a long
// User-Agent, the index alive as long as its records and no longer.
func testRedisUserLayout(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	engine := newEngine(store, []sessions.Option{sessions.WithIdleTimeout(time.Hour)}, userRoutes(store))
	c := newClient(t, engine)
	c.header.Set("User-Agent", strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 8)) // 256 bytes
	c.get("/count")
	anonymous := sessions.RedisKey(prefix, sessions.StoreID(c.cookie("sessionid")))
	if strings.ContainsAny(anonymous, "{}") {
		t.Fatalf("an anonymous session's key %s carries a hash tag", anonymous)
	}
	c.do(http.MethodPost, "/login?user=ada")
	record, index := userKeys(t, store, prefix, "ada", c)

	if a, b := redisHashTag(record), redisHashTag(index); a == "" || a != b {
		t.Fatalf("the record %s and the index %s are not in one hash slot", record, index)
	}
	if enc := rdb.ObjectEncoding(ctx, record).Val(); enc != "listpack" {
		t.Errorf("a logged-in session with a 256-byte User-Agent is a %s, want a listpack", enc)
	}
	if members := indexMembers(t, rdb, index); len(members) != 1 || !strings.HasSuffix(record, members[0]) {
		t.Fatalf("the index holds %v, want the record %s", members, record)
	}
	infos := listOf(t, c)
	if len(infos) != 1 || infos[0].UserAgent != c.header.Get("User-Agent") {
		t.Fatalf("listed %+v, want the one session with its whole User-Agent", infos)
	}

	// The login set the index's expiry the margin after the record's.
	before := rdb.PExpireTime(ctx, record).Val()
	if indexAt := rdb.PExpireTime(ctx, index).Val(); indexAt != before+sessions.RedisUserIndexMargin {
		t.Fatalf("after the login the record expires at %v and its index at %v, want %v later", before, indexAt, sessions.RedisUserIndexMargin)
	}
	// A read touches the record (idle timeout): the index follows it.
	time.Sleep(5 * time.Millisecond)
	c.get("/me")
	recordAt, indexAt := rdb.PExpireTime(ctx, record).Val(), rdb.PExpireTime(ctx, index).Val()
	if recordAt <= before || indexAt != recordAt+sessions.RedisUserIndexMargin {
		t.Fatalf("after a touch the record expires at %v (was %v) and its index at %v, want %v later", recordAt, before, indexAt, sessions.RedisUserIndexMargin)
	}

	// Revoked: nothing of the user is left.
	c.do(http.MethodPost, "/revoke-all?user=ada")
	if n := rdb.Exists(ctx, record, index).Val(); n != 0 {
		t.Fatalf("%d of the record and the index are left after revoking all", n)
	}
}

// indexMembers returns the entries of live records in a user's index: the
// fields of 32 hex digits, not the principal (@w) nor the entries of
// ended records waiting for the expiry sweep (x…).
func indexMembers(t *testing.T, rdb redis.UniversalClient, index string) []string {
	t.Helper()
	var out []string
	for _, f := range rdb.HKeys(t.Context(), index).Val() {
		if len(f) == 32 && !strings.HasPrefix(f, "x") && !strings.HasPrefix(f, "@") {
			out = append(out, f)
		}
	}
	return out
}

// redisHashTag is the hash tag of a key as Redis Cluster finds it.
func redisHashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	tag, _, closed := strings.Cut(rest, "}")
	if !ok || !closed {
		return ""
	}
	return tag
}

// testRedisUserIndexCleans checks that the index drops a deleted record at
// once, and the records that expired (with no keyspace notification) at the
// user's next login, listing or revocation.
func testRedisUserIndexCleans(t *testing.T, newRedis func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := newRedis(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	engine := newEngine(store, nil, userRoutes(store))
	var devices []*client
	for range 9 {
		devices = append(devices, loggedIn(t, engine, "ada"))
	}
	_, index := userKeys(t, store, prefix, "ada", devices[0])
	for i, c := range devices[:6] {
		record, _ := userKeys(t, store, prefix, "ada", c)
		if i < 3 {
			c.get("/flush") // deleted
			continue
		}
		mustNot(t, rdb.PExpire(ctx, record, time.Millisecond).Err(), "expiring %s", record) // as if it expired
	}
	if n := len(indexMembers(t, rdb, index)); n != 6 {
		t.Fatalf("after 3 logouts the index holds %d entries, want 6", n)
	}
	time.Sleep(5 * time.Millisecond)
	for _, step := range []struct {
		name string
		do   func()
		want int64
	}{
		{"a login", func() { loggedIn(t, engine, "ada") }, 4},
		{"a listing", func() { listOf(t, devices[8]) }, 4},
	} {
		step.do()
		if n := int64(len(indexMembers(t, rdb, index))); n != step.want {
			t.Fatalf("after %s the index holds %d entries, want %d", step.name, n, step.want)
		}
	}
	if infos := listOf(t, devices[8]); len(infos) != 4 {
		t.Fatalf("listed %d sessions, want 4", len(infos))
	}
}

// testRedisTagKey checks that every store on one Redis computes the same
// tags, from the key kept in Redis or from WithRedisTagKey.
func testRedisTagKey(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	tag := func(opts ...sessions.RedisOption) string {
		t.Helper()
		s := sessions.NewRedisStore(rdb, append([]sessions.RedisOption{sessions.WithRedisKeyPrefix(prefix)}, opts...)...)
		tag, err := s.UserTag(ctx, "ada")
		mustNot(t, err, "UserTag")
		return tag
	}
	first, second := tag(), tag()
	if first != second || len(first) != 5 {
		t.Fatalf("two stores on one Redis tag ada %q and %q", first, second)
	}
	if n := rdb.StrLen(ctx, prefix+"tag-key").Val(); n != 32 {
		t.Fatalf("the tag key in Redis has %d bytes, want 32", n)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	if a, b := tag(sessions.WithRedisTagKey(key)), tag(sessions.WithRedisTagKey(key)); a != b {
		t.Fatalf("two stores with one WithRedisTagKey tag ada %q and %q", a, b)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.HasPrefix(msg, "sessions: WithRedisTagKey") {
			t.Fatalf("a short key: panic %q", msg)
		}
	}()
	sessions.WithRedisTagKey([]byte("short"))
}

// TestRedisUsersModel runs the model test on a single server and on a real
// cluster. Redis keeps its own time, so no time passes in it. On the
// cluster, half the concurrent batches run while the slot of the user they
// revoke moves to another master: half its keys moved when the batch
// starts, the rest after it.
func TestRedisUsersModel(t *testing.T) {
	t.Run("node", func(t *testing.T) {
		rdb := redisBackends[0].start(t)(t)
		runUsersModel(t, 3, 80, func(t *testing.T) usersModelStore {
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(testPrefix(t, rdb)))
			return usersModelStore{store: store, clk: &clock{now: time.Now().Truncate(time.Millisecond)}}
		})
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t)
		rdb := closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()}))
		runUsersModel(t, 3, 80, func(t *testing.T) usersModelStore {
			prefix := testPrefix(t, rdb)
			store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
			return usersModelStore{
				store: store, clk: &clock{now: time.Now().Truncate(time.Millisecond)},
				migrate: func(user string) func() { return migrateUserSlot(t, c, store, prefix, user) },
			}
		})
	})
}

// migrateUserSlot starts moving the slot of user's sessions to another
// master and moves every other key of it; the function it returns moves
// the rest and finishes.
func migrateUserSlot(t *testing.T, c *redistest.Cluster, store *sessions.RedisStore, prefix, user string) func() {
	tag, err := store.UserTag(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	slot := c.KeySlot(sessions.RedisUserIndex(prefix, tag, user))
	from := c.Master(slot)
	var to *redistest.Server
	for _, m := range c.Masters() {
		if m != from {
			to = m
			break
		}
	}
	m := c.MigrateSlot(slot, to)
	keys, err := redistest.DoList(from.Addr, "CLUSTER", "GETKEYSINSLOT", strconv.Itoa(slot), "1000")
	if err != nil {
		t.Fatal(err)
	}
	var some []string
	for i, k := range keys {
		if i%2 == 0 {
			some = append(some, k)
		}
	}
	if len(some) > 0 {
		host, port, _ := net.SplitHostPort(to.Addr)
		if _, err := redistest.Do(from.Addr, append([]string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}, some...)...); err != nil {
			t.Fatalf("MIGRATE: %v", err)
		}
	}
	return func() {
		m.MoveKeys()
		m.Finish()
	}
}
