package sessions_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// TestRedisCommandsInScripts counts, on a server of its own, the commands
// that each save runs inside Redis: a new session costs no script and no
// DEL, a change with no Incr no script either, a change with one no more
// than its work, and a conditional save (Update) one HGET per expected key
// more than that, in the same single call.
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
