package benchmarks

import (
	"runtime"
	"testing"
)

// parallelism is the number of goroutines per core in the parallel
// benchmarks: several requests in flight per core, as a server has, so
// that a system waiting on Redis does not leave the core idle.
const parallelism = 4

func benchWorkload(b *testing.B, name string) {
	w := workloadNamed(b, name)
	for _, sys := range systems() {
		b.Run(sys.name, func(b *testing.B) {
			b.ReportAllocs()
			report(b, sys, runSerial(b, sys, w, b.Loop))
		})
	}
}

func workloadNamed(tb testing.TB, name string) workload {
	for _, w := range workloads {
		if w.name == name {
			return w
		}
	}
	tb.Fatalf("no workload %q", name)
	return workload{}
}

// BenchmarkUntouched: the middleware is installed, the handler never looks
// at the session, the request carries no cookie.
func BenchmarkUntouched(b *testing.B) { benchWorkload(b, "untouched") }

// BenchmarkUntouchedCookie: as BenchmarkUntouched, with a valid session
// cookie on the request.
func BenchmarkUntouchedCookie(b *testing.B) { benchWorkload(b, "untouched-cookie") }

// BenchmarkNew: a visitor without a cookie; the handler writes one value,
// which creates the session.
func BenchmarkNew(b *testing.B) { benchWorkload(b, "new") }

// BenchmarkCounter: the visit counter, with a valid cookie: read an int,
// add one, write it back.
func BenchmarkCounter(b *testing.B) { benchWorkload(b, "counter") }

// BenchmarkRead: a valid cookie; the handler reads a string.
func BenchmarkRead(b *testing.B) { benchWorkload(b, "read") }

// BenchmarkCounterParallel: the visit counter from parallelism goroutines
// per core, each with its own session.
func BenchmarkCounterParallel(b *testing.B) {
	for _, sys := range systems() {
		b.Run(sys.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(parallelism)
			workers := parallelism * runtime.GOMAXPROCS(0)
			res := runCounterParallel(b, sys, workers, func(worker func(next func() bool)) {
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) { worker(pb.Next) })
				b.StopTimer()
			})
			report(b, sys, res)
		})
	}
}
