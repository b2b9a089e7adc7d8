package sessions

import (
	"context"
	"time"
)

// RedisScripts returns the sources of the Redis store's scripts, so that a
// test can put them in the servers' script caches before it counts round
// trips.
func RedisScripts() []string {
	return []string{newLua, updateLua, touchLua, newUserScript.src.(string), updateUserScript.src.(string), touchUserScript.src.(string),
		deleteUserRecordScript.src.(string), listUserScript.src.(string), deleteUserScript.src.(string), tagKeyScript.src.(string),
		loginCapScript.src.(string), sweepUserScript.src.(string), ackUserScript.src.(string)}
}

// RedisKey is the key under which a RedisStore with the given prefix keeps
// the record of id.
func RedisKey(prefix, id string) string { return redisKeyOf(prefix, id) }

// RedisUserIndex is the key of the index of principal's sessions, whose
// tag is tag, in a RedisStore with the given prefix.
func RedisUserIndex(prefix, tag, principal string) string {
	return userIndexKey(prefix+"{"+tag+"}", principal)
}

// RedisUserIndexMargin is how much longer than each of its records a
// RedisStore keeps a user's index.
const RedisUserIndexMargin = userIndexGrace

// RedisSweep runs one sweep of a Redis store's per-user indexes as if the
// time were now.
func RedisSweep(s *RedisStore, ctx context.Context, now time.Time) error { return s.sweepDue(ctx, now) }
