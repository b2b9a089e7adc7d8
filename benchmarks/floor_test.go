package benchmarks

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
)

// floor is a bare Redis operation, one round trip, against the server the
// Redis systems use: what a store cannot beat.
type floor struct {
	name string
	// setup returns the operation and a check of the end result after n
	// operations.
	setup func(tb testing.TB, env *redisEnv) (op func() error, verify func(n int) error)
}

var floors = []floor{
	{"goredis-ping", goRedisPing},
	{"goredis-pipeline", goRedisPipeline},
	{"redigo-ping", redigoPing},
	{"redigo-pipeline", redigoPipeline},
}

// floorKeys makes each run's key unique, so a rerun on the same server
// starts from zero.
var floorKeys atomic.Int64

func floorKey() string {
	return "bench:floor:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":" + strconv.FormatInt(floorKeys.Add(1), 10)
}

func goRedisPing(tb testing.TB, env *redisEnv) (func() error, func(int) error) {
	c := env.goRedis(tb)
	ctx := context.Background()
	return func() error {
		pong, err := c.Ping(ctx).Result()
		if err == nil && pong != "PONG" {
			err = fmt.Errorf("PING answered %q", pong)
		}
		return err
	}, func(int) error { return nil }
}

// goRedisPipeline is a session save's shape: MULTI, HINCRBY, PEXPIRE, EXEC
// in one round trip.
func goRedisPipeline(tb testing.TB, env *redisEnv) (func() error, func(int) error) {
	c := env.goRedis(tb)
	ctx := context.Background()
	key := floorKey()
	return func() error {
			_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.HIncrBy(ctx, key, "n", 1)
				p.PExpire(ctx, key, time.Hour)
				return nil
			})
			return err
		}, func(n int) error {
			return wantCount(c.HGet(ctx, key, "n").Int())(n)
		}
}

func redigoPing(tb testing.TB, env *redisEnv) (func() error, func(int) error) {
	p := env.scsPool(tb)
	return func() error {
		c := p.Get()
		defer c.Close()
		pong, err := redigo.String(c.Do("PING"))
		if err == nil && pong != "PONG" {
			err = fmt.Errorf("PING answered %q", pong)
		}
		return err
	}, func(int) error { return nil }
}

func redigoPipeline(tb testing.TB, env *redisEnv) (func() error, func(int) error) {
	p := env.scsPool(tb)
	key := floorKey()
	return func() error {
			c := p.Get()
			defer c.Close()
			c.Send("MULTI")
			c.Send("HINCRBY", key, "n", 1)
			c.Send("PEXPIRE", key, time.Hour.Milliseconds())
			_, err := c.Do("EXEC")
			return err
		}, func(n int) error {
			c := p.Get()
			defer c.Close()
			return wantCount(redigo.Int(c.Do("HGET", key, "n")))(n)
		}
}

func wantCount(got int, err error) func(int) error {
	return func(n int) error {
		if err == nil && got != n {
			err = fmt.Errorf("counter is %d after %d operations", got, n)
		}
		return err
	}
}

// runFloor makes operations of f while loop says so and checks the end
// result.
func runFloor(tb testing.TB, f floor, loop func() bool) result {
	tb.Helper()
	env := newRedisEnv(tb)
	op, verify := f.setup(tb, env)
	// One operation first: go-redis finishes its connection's handshake
	// lazily, and a one-time cost would skew a short run.
	if err := op(); err != nil {
		tb.Fatalf("%s: %v", f.name, err)
	}
	m := startMeter(tb, env)
	n := 0
	for loop() {
		if err := op(); err != nil {
			tb.Fatalf("%s: %v", f.name, err)
		}
		n++
	}
	res := m.stop(tb, n)
	if err := verify(n + 1); err != nil {
		tb.Fatalf("%s: %v", f.name, err)
	}
	return res
}

// BenchmarkRedisFloor: one round trip per operation, a PING or a
// MULTI/HINCRBY/PEXPIRE/EXEC pipeline, with each client the systems use.
func BenchmarkRedisFloor(b *testing.B) {
	for _, f := range floors {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			report(b, system{redis: true}, runFloor(b, f, b.Loop))
		})
	}
}
