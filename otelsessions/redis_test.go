package otelsessions_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
)

// redisClients are the two shapes of Redis the store runs on: a node and a
// Cluster.
func redisClients(t *testing.T) map[string]func(t *testing.T) redis.UniversalClient {
	return map[string]func(t *testing.T) redis.UniversalClient{
		"node": func(t *testing.T) redis.UniversalClient {
			srv := redistest.Start(t)
			return closeAtEnd(t, redis.NewClient(&redis.Options{Addr: srv.Addr}))
		},
		"cluster": func(t *testing.T) redis.UniversalClient {
			c := redistest.StartCluster(t)
			return closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()}))
		},
	}
}

func closeAtEnd(t *testing.T, c redis.UniversalClient) redis.UniversalClient {
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedis: the instruments and spans of a browse on Redis, a node and a
// Cluster, and nothing secret in them.
func TestRedis(t *testing.T) {
	for name, client := range redisClients(t) {
		t.Run(name, func(t *testing.T) {
			tel := newTelemetry(t)
			store := sessions.NewRedisStore(client(t))
			t.Cleanup(func() { store.Close() })
			tokens := browse(t, tel.site(store))
			checkBrowse(t, tel, "redis")
			if found := leaks(tel, tel.metrics(t), append(secretsOf(tokens), "ann")); len(found) > 0 {
				t.Errorf("secrets recorded:\n%s", strings.Join(found, "\n"))
			}
		})
	}
}

// TestRedisDown: with Redis killed in the middle of browsing, the count of
// request failures is the number of 503 answers the clients saw, each
// failure is recorded with error.type unavailable, and so are the store
// calls that failed; once Redis is back, browsing goes on.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	rdb := closeAtEnd(t, redis.NewClient(&redis.Options{
		Addr: srv.Addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, MaxRetries: -1,
	}))
	tel := newTelemetry(t)
	store := sessions.NewRedisStore(rdb)
	t.Cleanup(func() { store.Close() })
	h := tel.site(store)

	var tokens []string
	var mu sync.Mutex
	const clients, rounds = 4, 12
	browsers := make([]*browser, clients)
	for i := range browsers {
		browsers[i] = newBrowser(t, h, &tokens, &mu)
	}
	unavailable, ok := 0, 0
	for round := range rounds {
		switch round {
		case 4:
			srv.Kill()
		case 8:
			srv.Restart()
		}
		for i, b := range browsers {
			path := "/visit"
			if i%2 == 1 {
				path = "/read"
			}
			switch code := b.get(path).Code; code {
			case http.StatusServiceUnavailable:
				unavailable++
			case http.StatusOK:
				ok++
			default:
				t.Fatalf("%s answered %d", path, code)
			}
		}
	}
	if unavailable == 0 || ok == 0 {
		t.Fatalf("%d answers 503, %d 200: the outage did not show", unavailable, ok)
	}
	rm := tel.metrics(t)
	if got := sum(rm, "ginsessions.request.failures"); got != int64(unavailable) {
		t.Fatalf("request failures = %d, clients saw %d answers 503", got, unavailable)
	}
	if got := sum(rm, "ginsessions.request.failures", attribute.String("error.type", "unavailable")); got != int64(unavailable) {
		t.Fatalf("request failures of type unavailable = %d, want %d", got, unavailable)
	}
	if histogramCount(rm, "ginsessions.store.duration", attribute.String("error.type", "unavailable")) == 0 {
		t.Fatal("no failed store call recorded")
	}
	if found := leaks(tel, rm, secretsOf(tokens)); len(found) > 0 {
		t.Errorf("secrets recorded:\n%s", strings.Join(found, "\n"))
	}
}
