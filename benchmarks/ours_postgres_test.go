package benchmarks

import (
	"context"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions/pgstore"
)

func init() {
	ourSystems = append(ourSystems, system{name: "ours-postgres", postgres: true, mount: mountOursPostgres})
	// One SELECT to load, one UPDATE to save, one INSERT for a new
	// session, nothing for a request that never touches the session.
	pgStatements["ours-postgres"] = map[string]int64{"untouched": 0, "untouched-cookie": 0, "new": 1, "counter": 2, "read": 1}
}

func mountOursPostgres(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
	return mountOurs(r, oursPostgresStore(tb, env))
}

func oursPostgresStore(tb testing.TB, env *redisEnv) *pgstore.Store {
	store, err := pgstore.New(context.Background(), pgxPool(tb, env), pgstore.WithTable("ginsessions"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}
