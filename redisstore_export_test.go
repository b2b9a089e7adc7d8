package sessions

import (
	"context"
	"time"
)

// RedisScripts returns the sources of the Redis store's scripts, so that a
// test can put them in the servers' script caches before it counts round
// trips.
func RedisScripts() []string { return []string{newLua, updateLua, touchLua} }

// RedisKey is the key under which a RedisStore with the given prefix keeps
// the record of id.
func RedisKey(prefix, id string) string { return redisKeyOf(prefix, id) }

// RedisTouch is Touch with the time the session was seen given.
func RedisTouch(s *RedisStore, ctx context.Context, id string, seen, expires time.Time) error {
	return s.touch(ctx, id, seen, expires)
}
