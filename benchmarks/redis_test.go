package benchmarks

import (
	"bufio"
	"context"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
)

// wire counts the round trips made over the connections it dials: a round
// trip is a burst of writes followed by a read, so a pipeline or a
// MULTI…EXEC sent in one flush counts once, and a pool's hidden PING on
// borrow counts too. Counting at the socket gives one yardstick for go-redis
// and redigo alike. It also counts the commands sent, by name, to tell them
// from those Redis runs inside scripts and transactions.
type wire struct {
	trips atomic.Int64
	mu    sync.Mutex
	sent  map[string]int64
}

func (w *wire) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, wire: w}, nil
}

func (w *wire) count(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent == nil {
		w.sent = map[string]int64{}
	}
	w.sent[name]++
}

// sentCounts is a copy of the counts of commands sent.
func (w *wire) sentCounts() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.sent)
}

// countedConn is used by one goroutine at a time, as both clients do with a
// pooled connection, so its state needs no lock.
type countedConn struct {
	net.Conn
	wire     *wire
	sending  bool
	commands commandReader
}

func (c *countedConn) Write(p []byte) (int, error) {
	if !c.sending {
		c.sending = true
		c.wire.trips.Add(1)
	}
	c.commands.read(p, c.wire.count)
	return c.Conn.Write(p)
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.sending = false
	return c.Conn.Read(p)
}

// NetConn hands go-redis the socket underneath, so its pool health check
// peeks at the real connection just as it does without the counter.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// redisEnv is one system's view of the shared Redis server: its clients dial
// through w, and commands reads the server's own tally. For a PostgreSQL
// system it holds pg, the counter its pool dials through, instead.
type redisEnv struct {
	addr string
	w    wire
	pg   *pgWire
}

func newRedisEnv(tb testing.TB) *redisEnv {
	return &redisEnv{addr: needRedis(tb)}
}

// goRedis returns a go-redis client with default settings but for the
// counting dialer. It has made its first connection, so the handshake
// (HELLO, CLIENT SETINFO) is not counted against the first request.
func (e *redisEnv) goRedis(tb testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: e.addr, Dialer: e.w.dial})
	tb.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("go-redis: %v", err)
	}
	return c
}

// redigoDial opens a redigo connection through the counting dialer.
func (e *redisEnv) redigoDial() (redigo.Conn, error) {
	return redigo.Dial("tcp", e.addr, redigo.DialContextFunc(e.w.dial))
}

// scsPool is the pool scs's README builds for its redisstore.
func (e *redisEnv) scsPool(tb testing.TB) *redigo.Pool {
	p := &redigo.Pool{MaxIdle: poolSize, Dial: e.redigoDial}
	tb.Cleanup(func() { p.Close() })
	return p
}

// rediStorePool is the pool that gin-contrib's redis.NewStore builds through
// boj/redistore.NewRediStore, PING on every borrow included; only the
// dialer differs, so its round trips can be counted.
func (e *redisEnv) rediStorePool(tb testing.TB) *redigo.Pool {
	p := &redigo.Pool{
		MaxIdle:     poolSize,
		IdleTimeout: 240 * time.Second,
		TestOnBorrow: func(c redigo.Conn, t time.Time) error {
			_, err := c.Do("PING")
			return err
		},
		Dial: e.redigoDial,
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// poolSize is the idle pool size given to the redigo pools: the size
// gin-contrib's examples use.
const poolSize = 10

// tally is what a run cost Redis.
type tally struct {
	trips, commands int64
	// usec is the server's time running the commands, in µs, each counted
	// once: a script's or a transaction's time includes the commands it
	// runs, so only the commands that clients sent count.
	usec float64
	// cpu is the CPU time of the server process, in µs: the commands, and
	// reading, parsing and answering them too.
	cpu float64
	// statements are PostgreSQL statements, for a PostgreSQL system.
	statements int64
}

// cmdStat is one line of INFO commandstats.
type cmdStat struct{ calls, usec int64 }

// counters are the readings of one redisEnv at one moment.
type counters struct {
	trips int64
	sent  map[string]int64   // commands sent, by commandstats name
	stats map[string]cmdStat // INFO commandstats
	cpu   float64            // INFO cpu: used_cpu_user + used_cpu_sys, in µs

	statements int64 // PostgreSQL statements, for a PostgreSQL system
}

// snapshot reads the counters; on a nil env (a memory store) it reads zero.
func (e *redisEnv) snapshot(tb testing.TB) counters {
	if e == nil {
		return counters{}
	}
	if e.pg != nil {
		return counters{trips: e.pg.trips.Load(), statements: e.pg.statements.Load()}
	}
	stats, cpu := serverStats(tb, e.addr)
	return counters{trips: e.w.trips.Load(), sent: e.w.sentCounts(), stats: stats, cpu: cpu}
}

// since is what was used from before to c. A command that Redis ran more
// often than clients sent it ran inside scripts or transactions too; only
// the share that clients sent counts in the time.
func (c counters) since(before counters) tally {
	t := tally{trips: c.trips - before.trips, cpu: c.cpu - before.cpu, statements: c.statements - before.statements}
	for name, st := range c.stats {
		calls := st.calls - before.stats[name].calls
		usec := st.usec - before.stats[name].usec
		t.commands += calls
		sent := c.sent[name] - before.sent[name]
		if calls <= 0 || sent <= 0 {
			continue
		}
		t.usec += float64(usec) * min(1, float64(sent)/float64(calls))
	}
	return t
}

// serverStats reads INFO commandstats, but for INFO itself, and the
// server's CPU time, over a connection of its own that the round-trip
// counter does not see. Commands run inside MULTI…EXEC or a script count one
// by one, and the time of EXEC or the script includes theirs. Reading and
// answering are not in commandstats; they are in the CPU time.
func serverStats(tb testing.TB, addr string) (map[string]cmdStat, float64) {
	tb.Helper()
	info, err := redisInfo(addr, "cpu", "commandstats")
	if err != nil {
		tb.Fatalf("INFO: %v", err)
	}
	stats, err := parseInfo(info)
	if err != nil {
		tb.Fatalf("INFO: %v", err)
	}
	return stats, infoSeconds(info, "used_cpu_user") + infoSeconds(info, "used_cpu_sys")
}

// infoSeconds reads a field of INFO that counts seconds, in µs.
func infoSeconds(info, field string) float64 {
	_, rest, ok := strings.Cut(info, "\n"+field+":")
	if !ok {
		return 0
	}
	v, _, _ := strings.Cut(rest, "\r")
	sec, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return sec * 1e6
}

// redisInfo returns sections of INFO from the server at addr.
func redisInfo(addr string, sections ...any) (string, error) {
	c, err := redigo.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return redigo.String(c.Do("INFO", sections...))
}

// parseInfo reads the lines of INFO commandstats such as
// "cmdstat_get:calls=5,usec=12,…".
func parseInfo(info string) (map[string]cmdStat, error) {
	stats := map[string]cmdStat{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line, fields, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		name, isCmd := strings.CutPrefix(line, "cmdstat_")
		if !ok || !isCmd || name == "info" {
			continue
		}
		var st cmdStat
		for _, f := range strings.Split(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			var dst *int64
			switch k {
			case "calls":
				dst = &st.calls
			case "usec":
				dst = &st.usec
			default:
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, err
			}
			*dst = n
		}
		stats[name] = st
	}
	return stats, sc.Err()
}

// report adds the metrics of a run on sys, per request: the process's CPU
// time (which waiting on Redis does not count, so it stays meaningful where
// round-trip latency is noisy), and for Redis the round trips, the server
// commands and the server's time running them.
func report(b *testing.B, sys system, res result) {
	if res.n == 0 {
		return
	}
	n := float64(res.n)
	if res.hasCPU {
		b.ReportMetric(float64(res.cpu.Microseconds())/n, "cpu-µs/op")
	}
	if sys.postgres || sys.sql != "" {
		b.ReportMetric(float64(res.redis.trips)/n, "rtt/op")
		b.ReportMetric(float64(res.redis.statements)/n, "stmts/op")
	}
	if !sys.redis {
		return
	}
	b.ReportMetric(float64(res.redis.trips)/n, "rtt/op")
	b.ReportMetric(float64(res.redis.commands)/n, "cmds/op")
	b.ReportMetric(res.redis.usec/n, "cmd-µs/op")
	b.ReportMetric(res.redis.cpu/n, "srv-cpu-µs/op")
}
