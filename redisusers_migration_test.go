package sessions_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// TestRedisUserIndexDuringSlotMigration moves the hash slot of a user's
// sessions to another master of a real Cluster, as `redis-cli --cluster
// reshard` does, and stops half way: the slot is MIGRATING/IMPORTING and
// some of the user's records have moved (MIGRATE) while the index has not.
// Listing, revoking one session, a login under a cap and "log out
// everywhere" run then: each either answers right or fails with an error
// the caller can retry, and none takes a moved record for a dead one. Once
// the slot has moved, every session is still listed and "log out
// everywhere" ends them all.
func TestRedisUserIndexDuringSlotMigration(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb := closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()}))
	// Either some records move first, the index staying on the old master,
	// or the index moves with some records, the others staying behind.
	t.Run("records first", func(t *testing.T) { testUserSlotMigration(t, c, rdb, false) })
	t.Run("index first", func(t *testing.T) { testUserSlotMigration(t, c, rdb, true) })
}

func testUserSlotMigration(t *testing.T, c *redistest.Cluster, rdb redis.UniversalClient, indexFirst bool) {
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	clk := &clock{now: time.Now()}
	engine := newEngine(store, []sessions.Option{sessions.WithMaxSessionsPerUser(10), sessions.WithIdleTimeout(time.Hour), sessions.WithClock(clk.Now)},
		userRoutes(store))

	const devices = 6
	browsers := make([]*client, devices)
	records := make([]string, devices)
	var index string
	for i := range browsers {
		browsers[i] = loggedIn(t, engine, "ann")
		records[i], index = userKeys(t, store, prefix, "ann", browsers[i])
	}
	slot := c.KeySlot(index)
	from := c.Master(slot)
	var to *redistest.Server
	for _, m := range c.Masters() {
		if m != from {
			to = m
			break
		}
	}
	m := c.MigrateSlot(slot, to)
	host, port, _ := net.SplitHostPort(to.Addr)
	moved := records[:devices/2]
	if indexFirst {
		moved = append([]string{index}, records[devices/2:]...)
	}
	if _, err := redistest.Do(from.Addr, append([]string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}, moved...)...); err != nil {
		t.Fatalf("MIGRATE: %v", err)
	}

	// Midway: whatever answers must be right; an error is allowed.
	if infos, err := sessions.UserSessions(t.Context(), store, "ann"); err == nil && len(infos) != devices {
		t.Errorf("midway: UserSessions listed %d sessions, want %d (or an error)", len(infos), devices)
	} else if err != nil {
		t.Logf("midway: UserSessions: %v", err)
	}
	if rec := browsers[devices-1].get("/sessions"); rec.Code == http.StatusOK && countInfos(t, rec.Body.String()) != devices {
		t.Errorf("midway: /sessions listed %s, want %d sessions (or an error)", rec.Body, devices)
	}
	late := newClient(t, engine)
	if rec := late.do(http.MethodPost, "/login?user=ann"); rec.Code == http.StatusOK {
		browsers = append(browsers, late)
	} else {
		t.Logf("midway: a login under the cap: %d %s", rec.Code, rec.Body)
	}
	if n, err := sessions.RevokeUserSessions(t.Context(), store, "nobody-"+prefix); err != nil || n != 0 {
		t.Errorf("midway: revoking another user's sessions = %d, %v", n, err)
	}
	if n, err := sessions.RevokeUserSessions(t.Context(), store, "ann"); err == nil {
		t.Fatalf("midway: RevokeUserSessions answered %d with records out of its reach, want an error", n)
	} else if !errors.Is(err, sessions.ErrUnavailable) {
		t.Errorf("midway: RevokeUserSessions: %v, want an error wrapping ErrUnavailable (try again)", err)
	}

	// A minute later every device comes back: the idle timeout's touch
	// moves each record's expiry, and must move the index's too, or fail.
	clk.advance(time.Minute)
	for i, b := range browsers {
		if rec := b.get("/me"); rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
			t.Errorf("midway: device %d: /me answered %d %q, want 200 or 503", i, rec.Code, rec.Body)
		}
	}

	m.MoveKeys()
	m.Finish()

	idxAt := rdb.PExpireTime(t.Context(), index).Val()
	for i, key := range records {
		if at := rdb.PExpireTime(t.Context(), key).Val(); at > idxAt {
			t.Errorf("device %d's record expires %v after its index", i, at-idxAt)
		}
	}

	infos, err := sessions.UserSessions(t.Context(), store, "ann")
	if err != nil {
		t.Fatalf("after the migration: UserSessions: %v", err)
	}
	if len(infos) != len(browsers) {
		t.Fatalf("after the migration: %d sessions listed, want %d: live sessions dropped out of the index", len(infos), len(browsers))
	}
	n, err := sessions.RevokeUserSessions(t.Context(), store, "ann")
	if err != nil || n != len(infos) {
		t.Fatalf("after the migration: RevokeUserSessions = %d, %v; want %d, nil", n, err, len(infos))
	}
	for i, b := range append(browsers, late) {
		if got := body(t, b, http.MethodGet, "/me"); got != "" {
			t.Errorf("device %d is still logged in as %q after \"log out everywhere\"", i, got)
		}
	}
}

// countInfos counts the sessions in a /sessions answer.
func countInfos(t *testing.T, body string) int {
	var infos []sessions.SessionInfo
	if err := json.Unmarshal([]byte(body), &infos); err != nil {
		t.Fatalf("/sessions: %v", err)
	}
	return len(infos)
}
