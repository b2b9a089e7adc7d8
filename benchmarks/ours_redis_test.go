package benchmarks

import (
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

func init() {
	ourSystems = append(ourSystems, system{name: "ours-redis", redis: true, mount: mountOursRedis})
	// One HGETALL to load, one script run to save, nothing for a request
	// that never touches the session.
	roundTrips["ours-redis"] = map[string]int64{"untouched": 0, "untouched-cookie": 0, "new": 1, "counter": 2, "read": 1}
}

func mountOursRedis(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
	return mountOurs(r, sessions.NewRedisStore(env.goRedis(tb)))
}
