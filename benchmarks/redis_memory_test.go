package benchmarks

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	redigo "github.com/gomodule/redigo/redis"
)

// redisSessions is how many tutorial-sized sessions BenchmarkRedisMemory
// keeps per system.
const redisSessions = 10_000

// redisMemory is what n sessions of one system take in a Redis of their own.
type redisMemory struct {
	n        int
	perKey   float64 // INFO memory used_memory grown, per session
	usage    float64 // MEMORY USAGE of a session's key, the median
	hashes   int     // session keys that are hashes
	listpack int     // of which in the compact listpack encoding
}

// measureRedisMemory starts a redis-server for sys alone, makes n sessions
// of the tutorial's size through its routes (GET /new writes the greeting,
// GET /counter the visit count), and reads what they take.
func measureRedisMemory(tb testing.TB, sys system, n int) redisMemory {
	tb.Helper()
	env, h := onOwnRedis(tb, sys)
	conn, err := redigo.Dial("tcp", env.addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	// A first session opens the connections and loads the scripts: what
	// follows is the sessions' own memory.
	counter(tb, sys, h, newSession(tb, sys, h))
	before := usedMemory(tb, conn)
	for range n {
		counter(tb, sys, h, newSession(tb, sys, h))
	}
	m := redisMemory{n: n, perKey: float64(usedMemory(tb, conn)-before) / float64(n)}
	keys := allKeys(tb, conn)
	if len(keys) != n+1 {
		tb.Fatalf("%d keys in Redis after %d sessions, want %d", len(keys), n+1, n+1)
	}
	usages := make([]int64, 0, len(keys))
	for _, k := range keys {
		conn.Send("MEMORY", "USAGE", k)
		conn.Send("TYPE", k)
		conn.Send("OBJECT", "ENCODING", k)
	}
	conn.Flush()
	for range keys {
		usage, err1 := redigo.Int64(conn.Receive())
		typ, err2 := redigo.String(conn.Receive())
		enc, err3 := redigo.String(conn.Receive())
		if err := firstError(err1, err2, err3); err != nil {
			tb.Fatal(err)
		}
		usages = append(usages, usage)
		if typ == "hash" {
			m.hashes++
			if enc == "listpack" {
				m.listpack++
			}
		}
	}
	slices.Sort(usages)
	m.usage = float64(usages[len(usages)/2])
	return m
}

// counter makes one visit-counter request with cookie and checks that it is
// the session's first.
func counter(tb testing.TB, sys system, h http.Handler, cookie string) {
	tb.Helper()
	if rec := serve(h, request("/counter", cookie)); rec.Body.String() != "1" {
		tb.Fatalf("%s: the first visit of a new session counts %q", sys.name, rec.Body.String())
	}
}

func usedMemory(tb testing.TB, conn redigo.Conn) int64 {
	tb.Helper()
	info, err := redigo.String(conn.Do("INFO", "memory"))
	if err != nil {
		tb.Fatal(err)
	}
	_, rest, _ := strings.Cut(info, "\nused_memory:")
	v, _, _ := strings.Cut(rest, "\r")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		tb.Fatalf("INFO memory: used_memory %q: %v", v, err)
	}
	return n
}

// allKeys lists the keys of a server that holds one system's sessions
// only, with SCAN.
func allKeys(tb testing.TB, conn redigo.Conn) []string {
	tb.Helper()
	var keys []string
	cursor := "0"
	for {
		reply, err := redigo.Values(conn.Do("SCAN", cursor, "COUNT", 1000))
		if err != nil {
			tb.Fatal(err)
		}
		page, err := redigo.Strings(reply[1], nil)
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, page...)
		if cursor, _ = redigo.String(reply[0], nil); cursor == "0" {
			return keys
		}
	}
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (m redisMemory) report(b *testing.B) {
	b.ReportMetric(0, "ns/op") // the time to make the sessions says nothing
	b.ReportMetric(m.perKey, "redis-B/session")
	b.ReportMetric(m.usage, "usage-B/key")
	if m.hashes > 0 {
		b.ReportMetric(100*float64(m.listpack)/float64(m.hashes), "listpack-%")
	}
}

// BenchmarkRedisMemory makes 10,000 tutorial-sized sessions with each
// Redis system, each on a redis-server of its own, and reports the memory
// they take there: INFO memory's used_memory grown per session
// (redis-B/session), the median MEMORY USAGE of a session's key
// (usage-B/key), and, for systems that keep a hash per session, the share
// of those in the compact listpack encoding (listpack-%).
func BenchmarkRedisMemory(b *testing.B) {
	needRedis(b)
	for _, sys := range redisSystems() {
		b.Run(sys.name, func(b *testing.B) {
			var m redisMemory
			for b.Loop() {
				m = measureRedisMemory(b, sys, redisSessions)
			}
			m.report(b)
		})
	}
}

// TestRedisMemory runs the measurement on fewer sessions: every session
// lands in Redis, and this library's are all in the listpack encoding.
func TestRedisMemory(t *testing.T) {
	needRedis(t)
	for _, sys := range redisSystems() {
		t.Run(sys.name, func(t *testing.T) {
			m := measureRedisMemory(t, sys, 200)
			if m.perKey <= 0 || m.usage <= 0 {
				t.Fatalf("%+v: no memory measured", m)
			}
			if sys.name == "ours-redis" && (m.hashes != m.n+1 || m.listpack != m.hashes) {
				t.Fatalf("%d of %d session hashes in the listpack encoding, want all %d", m.listpack, m.hashes, m.n+1)
			}
			t.Logf("%.0f B per session, MEMORY USAGE %.0f B", m.perKey, m.usage)
		})
	}
}
