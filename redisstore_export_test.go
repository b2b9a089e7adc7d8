package sessions

// RedisScripts returns the sources of the Redis store's scripts, so that a
// test can put them in the servers' script caches before it counts round
// trips.
func RedisScripts() []string { return []string{saveLua, touchLua} }
