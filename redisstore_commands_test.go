package sessions_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// TestRedisCommandsInScripts counts, on a server of its own, the commands
// that each save runs inside Redis: a new session costs no script and no
// DEL, a change with no Incr no script either, a change with one no more
// than its work, and a conditional save (Update) one HGET per expected key
// more than that, in the same single call. A logged-in session's touch and
// delete check first that its index is on this server (one EXISTS), so
// that a slot migration never leaves the record outliving its index.
func TestRedisCommandsInScripts(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := t.Context()
	store := sessions.NewRedisStore(rdb)
	id := newID(t)
	warmScripts(t, rdb)
	mustNot(t, store.Save(ctx, newID(t), change(true)), "warm-up save") // and connections

	tests := []struct {
		name string
		save func() error
		want string // the commands run, with their counts
	}{
		{"new", func() error {
			ch := change(true)
			ch.Set = map[string]string{"greeting": `"Hello"`}
			return store.Save(ctx, id, ch)
		}, "exec=1 hlen=1 hset=1 multi=1 pexpireat=1"},
		{"counter", func() error {
			ch := change(false)
			ch.Set = map[string]string{"num_visits": "2"}
			return store.Save(ctx, id, ch)
		}, "exec=1 hdel=1 hmget=1 hset=1 multi=1 pexpireat=1"},
		{"increment", func() error {
			ch := change(false)
			ch.Incr = map[string]int64{"n": 1}
			return store.Save(ctx, id, ch)
		}, "evalsha=1 hincrby=1 hmget=1 hset=1 pexpireat=1"},
		{"conditional", func() error {
			ch := change(false)
			ch.Set = map[string]string{"cart": `["a"]`}
			ch.Expect = map[string]string{"cart": ""}
			return store.Save(ctx, id, ch)
		}, "evalsha=1 hget=1 hmget=1 hset=1 pexpireat=1"},
	}
	// A logged-in session's record and its user's index.
	tag, err := store.UserTag(ctx, "ann")
	mustNot(t, err, "UserTag")
	userID := func() string { return tag + "." + newID(t) }
	login := func(id string) sessions.Change {
		ch := change(true)
		ch.Principal = "ann"
		mustNot(t, store.Save(ctx, id, ch), "login")
		return ch
	}
	touched, deleted := userID(), userID()
	login(touched)
	login(deleted)
	tests = append(tests, []struct {
		name string
		save func() error
		want string
	}{
		{"logged-in touch", func() error {
			return store.Touch(ctx, touched, time.Now(), time.Now().Add(2*time.Hour))
		}, "evalsha=1 exists=1 hget=1 hmget=1 hset=1 pexpireat=2 pttl=2"},
		{"logged-in delete", func() error {
			_, err := store.Delete(ctx, deleted)
			return err
			// HLEN: an index left with only its principal is deleted.
		}, "del=1 evalsha=1 exists=1 hdel=1 hget=1 hlen=1"},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustNot(t, rdb.ConfigResetStat(ctx).Err(), "CONFIG RESETSTAT")
			mustNot(t, tt.save(), "save")
			if got := commandCounts(t, ctx, rdb); got != tt.want {
				t.Errorf("commands run: %s, want %s", got, tt.want)
			}
		})
	}
}

// commandCounts lists the calls of INFO commandstats, sorted, leaving out
// INFO and CONFIG themselves.
func commandCounts(t *testing.T, ctx context.Context, rdb *redis.Client) string {
	t.Helper()
	info, err := rdb.Info(ctx, "commandstats").Result()
	mustNot(t, err, "INFO commandstats")
	var out []string
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		out = append(out, name+"="+calls)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
