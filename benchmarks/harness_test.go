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

// TestWorkloads runs every workload a few times on every system through
// the same code as the benchmarks, with the same result checks.
func TestWorkloads(t *testing.T) {
	for _, sys := range systems() {
		for _, w := range workloads {
			t.Run(w.name+"/"+sys.name, func(t *testing.T) {
				const n = 5
				res := runSerial(t, sys, w, countdown(n))
				if res.n != n {
					t.Fatalf("made %d requests, want %d", res.n, n)
				}
				t.Logf("round trips %d, commands %d", res.redis.trips, res.redis.commands)
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
