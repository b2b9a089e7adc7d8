package benchmarks

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// countdown is a loop condition that holds n times.
func countdown(n int) func() bool {
	return func() bool {
		n--
		return n >= 0
	}
}

// roundTrips are the Redis round trips per request of each Redis system
// and workload. redistore PINGs on every pool borrow, so gin-contrib pays
// one more per load and per save; scs loads eagerly, so a cookie costs a GET
// even when the handler never looks at the session.
var roundTrips = map[string]map[string]int64{
	"gincontrib-redis": {"untouched": 0, "untouched-cookie": 0, "new": 2, "counter": 4, "read": 2},
	"scs-redis":        {"untouched": 0, "untouched-cookie": 1, "new": 1, "counter": 2, "read": 1},
}

// pgStatements are the PostgreSQL statements per request of each
// PostgreSQL system and workload. gin-contrib's store reads the row when
// the cookie arrives and writes it back on every Save; scs loads eagerly, so
// a cookie costs a SELECT even when the handler never looks at the session.
var pgStatements = map[string]map[string]int64{
	"gincontrib-postgres": {"untouched": 0, "untouched-cookie": 0, "new": 1, "counter": 2, "read": 1},
	"scs-postgres":        {"untouched": 0, "untouched-cookie": 1, "new": 1, "counter": 2, "read": 1},
}

// TestWorkloads runs every workload a few times on every system through
// the same code as the benchmarks, with the same result checks, and pins
// the Redis round trips each costs.
func TestWorkloads(t *testing.T) {
	for _, sys := range systems() {
		for _, w := range workloads {
			t.Run(w.name+"/"+sys.name, func(t *testing.T) {
				const n = 5
				res := runSerial(t, sys, w, countdown(n))
				if res.n != n {
					t.Fatalf("made %d requests, want %d", res.n, n)
				}
				if sys.postgres || sys.sql != "" {
					want, ok := pgStatements[sys.name][w.name]
					if !ok {
						t.Fatalf("no expected statements for %s %s", sys.name, w.name)
					}
					if res.redis.statements != want*n {
						t.Fatalf("%d statements (%d round trips) for %d requests, want %d each", res.redis.statements, res.redis.trips, n, want)
					}
				}
				if !sys.redis {
					return
				}
				want, ok := roundTrips[sys.name][w.name]
				if !ok {
					t.Fatalf("no expected round trips for %s %s", sys.name, w.name)
				}
				if res.redis.trips != want*n {
					t.Fatalf("%d round trips for %d requests, want %d each", res.redis.trips, n, want)
				}
			})
		}
	}
}

// TestCounterParallel runs the parallel counter on every system from
// several goroutines at once.
func TestCounterParallel(t *testing.T) {
	for _, sys := range systems() {
		t.Run(sys.name, func(t *testing.T) {
			const workers, each = 4, 5
			res := runCounterParallel(t, sys, workers, func(worker func(next func() bool)) {
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() { worker(countdown(each)) })
				}
				wg.Wait()
			})
			if res.n != workers*each {
				t.Fatalf("made %d requests, want %d", res.n, workers*each)
			}
		})
	}
}

// TestFloorsCountOneRoundTrip checks the round-trip counter itself: each
// floor operation is one round trip.
func TestFloorsCountOneRoundTrip(t *testing.T) {
	for _, f := range floors {
		t.Run(f.name, func(t *testing.T) {
			const n = 5
			res := runFloor(t, f, countdown(n))
			if res.redis.trips != n {
				t.Fatalf("%d round trips for %d operations, want one each", res.redis.trips, n)
			}
		})
	}
}

func TestParseInfo(t *testing.T) {
	info := "# Commandstats\r\n" +
		"cmdstat_get:calls=5,usec=12,usec_per_call=2.40,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=9,usec=500,usec_per_call=55.56,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|setinfo:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r\n"
	got, err := parseInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cmdStat{"get": {5, 12}, "client|setinfo": {2, 3}}
	if !maps.Equal(got, want) {
		t.Fatalf("parseInfo = %v, want %v (INFO itself left out)", got, want)
	}
}

// TestCommandTime checks that each command's time counts once: a script's
// and a transaction's time include the commands they run, which count only
// as far as clients sent them too.
func TestCommandTime(t *testing.T) {
	before := counters{}
	after := counters{
		trips: 3,
		sent:  map[string]int64{"evalsha": 2, "multi": 1, "exec": 1, "hset": 1},
		stats: map[string]cmdStat{
			"evalsha": {2, 20}, "hset": {3, 6}, // two HSETs ran in the scripts
			"multi": {1, 1}, "exec": {1, 5}, "set": {1, 2}, // SET ran in EXEC
		},
	}
	got := after.since(before)
	if want := (tally{trips: 3, commands: 8, usec: 20 + 2 + 1 + 5}); got != want {
		t.Fatalf("since = %+v, want %+v", got, want)
	}
}

// TestCommandReader feeds the reader commands split at every byte and in one
// piece: it names each command the client sent, subcommands of containers
// included, and leaves out what is queued between MULTI and EXEC.
func TestCommandReader(t *testing.T) {
	stream := resp("CLIENT", "SETINFO", "lib-name", "x") + resp("EVALSHA", "abc", "1", "k", "a\r\nb") +
		resp("MULTI") + resp("SET", "k", "v") + resp("PEXPIREAT", "k", "1") + resp("EXEC") + resp("get", "k")
	want := []string{"client|setinfo", "evalsha", "multi", "exec", "get"}
	for _, step := range []int{1, 7, len(stream)} {
		var r commandReader
		var got []string
		for i := 0; i < len(stream); i += step {
			r.read([]byte(stream[i:min(i+step, len(stream))]), func(name string) { got = append(got, name) })
		}
		if !slices.Equal(got, want) {
			t.Errorf("in writes of %d bytes: read %v, want %v", step, got, want)
		}
	}
}

// resp writes a command as a RESP array of bulk strings.
func resp(args ...string) string {
	s := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		s += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	return s
}
