package benchmarks

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
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
// and redigo alike.
type wire struct {
	trips atomic.Int64
}

func (w *wire) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, wire: w}, nil
}

// countedConn is used by one goroutine at a time, as both clients do with a
// pooled connection, so its state needs no lock.
type countedConn struct {
	net.Conn
	wire    *wire
	sending bool
}

func (c *countedConn) Write(p []byte) (int, error) {
	if !c.sending {
		c.sending = true
		c.wire.trips.Add(1)
	}
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

// tally is a snapshot of the counters of one redisEnv.
type tally struct {
	trips, commands int64
	usec            int64 // the server's time running commands, in µs
	statements      int64 // PostgreSQL statements
}

// snapshot reads the counters; on a nil env (a memory store) it reads zero.
func (e *redisEnv) snapshot(tb testing.TB) tally {
	if e == nil {
		return tally{}
	}
	if e.pg != nil {
		return tally{trips: e.pg.trips.Load(), statements: e.pg.statements.Load()}
	}
	t := serverStats(tb, e.addr)
	t.trips = e.w.trips.Load()
	return t
}

// serverStats sums the calls and the time of every command in INFO
// commandstats but INFO itself, over a connection of its own that the
// round-trip counter does not see. Commands run inside MULTI…EXEC or a
// script count one by one; a script's time includes theirs, so a script
// counts them twice in the time. Reading and answering are not in it.
func serverStats(tb testing.TB, addr string) tally {
	tb.Helper()
	c, err := redigo.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	defer c.Close()
	info, err := redigo.String(c.Do("INFO", "commandstats"))
	if err != nil {
		tb.Fatalf("INFO: %v", err)
	}
	t, err := parseInfo(info)
	if err != nil {
		tb.Fatalf("INFO: %v", err)
	}
	return t
}

// parseInfo reads the lines of INFO commandstats such as
// "cmdstat_get:calls=5,usec=12,…".
func parseInfo(info string) (tally, error) {
	var t tally
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, fields, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		for _, f := range strings.Split(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			var sum *int64
			switch k {
			case "calls":
				sum = &t.commands
			case "usec":
				sum = &t.usec
			default:
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return tally{}, err
			}
			*sum += n
		}
	}
	return t, sc.Err()
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
	if sys.postgres {
		b.ReportMetric(float64(res.redis.trips)/n, "rtt/op")
		b.ReportMetric(float64(res.redis.statements)/n, "stmts/op")
	}
	if !sys.redis {
		return
	}
	b.ReportMetric(float64(res.redis.trips)/n, "rtt/op")
	b.ReportMetric(float64(res.redis.commands)/n, "cmds/op")
	b.ReportMetric(float64(res.redis.usec)/n, "cmd-µs/op")
}
