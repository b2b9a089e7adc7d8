package sessions

// RedisScripts returns the sources of the Redis store's scripts, so that a
// test can put them in the servers' script caches before it counts round
// trips.
func RedisScripts() []string { return []string{newLua, updateLua, touchLua} }

// RedisKey is the key under which a RedisStore with the given prefix keeps
// the record of id.
func RedisKey(prefix, id string) string { return redisKeyOf(prefix, id) }
