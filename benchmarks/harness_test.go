package benchmarks

import (
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
				if sys.postgres {
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
	if want := (tally{commands: 7, usec: 15}); got != want {
		t.Fatalf("parseInfo = %+v, want %+v (INFO itself left out)", got, want)
	}
}
