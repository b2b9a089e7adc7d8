package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkCounter/bare-2         	  244310	      1000 ns/op	    1367 B/op	      11 allocs/op
BenchmarkCounter/scs-memory-2   	   17205	     20000 ns/op	   13314 B/op	     261 allocs/op
BenchmarkCounter/ours-memory-2  	   17205	      4000 ns/op	     500 B/op	      20 allocs/op
BenchmarkCounter/bare-2         	  244310	      3000 ns/op	    1367 B/op	      11 allocs/op
BenchmarkCounter/scs-memory-2   	   17205	     22000 ns/op	   13314 B/op	     261 allocs/op
BenchmarkCounter/ours-memory-2  	   17205	      5000 ns/op	     500 B/op	      20 allocs/op
BenchmarkCounter/bare-2         	  244310	      2000 ns/op	    1367 B/op	      11 allocs/op
BenchmarkCounter/scs-memory-2   	   17205	     21000 ns/op	   13314 B/op	     261 allocs/op
BenchmarkCounter/ours-memory-2  	   17205	      5000 ns/op	     500 B/op	      20 allocs/op
BenchmarkRead/bare-2            	  900000	      1500 ns/op	    1360 B/op	      10 allocs/op
BenchmarkRead/scs-redis-2       	   10000	    102253 ns/op	         1.000 cmds/op	         1.000 rtt/op	   10904 B/op	     218 allocs/op
BenchmarkMemoryStore/1000000-2  	       1	 900000000 ns/op	       250.0 B/session
BenchmarkNew/scs-redis-2        	   10000	     40000 ns/op	         3.000 cmd-µs/op	        12.00 srv-cpu-µs/op
BenchmarkNew/ours-redis-2       	   10000	     38000 ns/op	         7.000 cmd-µs/op	        17.00 srv-cpu-µs/op
BenchmarkRedisMemory/gincontrib-redis-2         	       1	       281.6 redis-B/session	       216.0 usage-B/key
BenchmarkRedisMemory/scs-redis-2                	       1	       361.6 redis-B/session	       296.0 usage-B/key
BenchmarkRedisMemory/ours-redis-2               	       1	       100.0 listpack-%	       265.6 redis-B/session	       200.0 usage-B/key
BenchmarkHTTPLoad/new/gincontrib-redis-2         	       1	      8527 req/s	     15749 p99-µs
BenchmarkHTTPLoad/new/scs-redis-2                	       1	     10059 req/s	     15838 p99-µs
BenchmarkHTTPLoad/new/ours-redis-2               	       1	     14581 req/s	     12229 p99-µs
BenchmarkRead/ours-postgres-2   	   10000	     90000 ns/op	         1.000 rtt/op	         1.000 stmts/op	    4604 B/op	      50 allocs/op
--- some log line
PASS
`

func TestParseMedians(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, unit string
		want       float64
		samples    int
	}{
		{"Counter/bare", "ns/op", 2000, 3},
		{"Counter/scs-memory", "ns/op", 21000, 3},
		{"Counter/ours-memory", "allocs/op", 20, 3},
		{"Read/scs-redis", "rtt/op", 1, 1},
		{"Read/scs-redis", "B/op", 10904, 1},
		{"MemoryStore/1000000", "B/session", 250, 1},
	}
	for _, tt := range tests {
		got, ok := res.lookup(tt.name, tt.unit)
		if !ok || got != tt.want {
			t.Errorf("%s %s: median %v (found %v), want %v", tt.name, tt.unit, got, ok, tt.want)
		}
		if n := len(res.by[tt.name][tt.unit]); n != tt.samples {
			t.Errorf("%s %s: %d samples, want %d", tt.name, tt.unit, n, tt.samples)
		}
	}
	if got, want := strings.Join(res.names[:6], ","), "Counter/bare,Counter/scs-memory,Counter/ours-memory,Read/bare,Read/scs-redis,MemoryStore/1000000"; got != want {
		t.Errorf("names %s, want %s", got, want)
	}
}

func TestMedianOfEvenCount(t *testing.T) {
	s := samples{"ns/op": {4, 1, 3, 2}}
	if m, _ := s.median("ns/op"); m != 2.5 {
		t.Fatalf("median %v, want 2.5", m)
	}
	if d := s.spread("ns/op"); d != 0.6 {
		t.Fatalf("spread %v, want 0.6", d)
	}
}

func TestTablesAndTargets(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeSummary(&out, res)
	writeTables(&out, res)
	writeTargets(&out, res)
	for _, want := range []string{
		"| ours-memory | 5.00 µs | 20% | 2.50× | 500 | 20 |",
		"| Counter, memory: ≥ 4× faster than the faster peer, ≤ ¼ of its allocs | 4.2× faster than scs-memory (5.00 µs vs 21.0 µs), 20 vs 261 allocs | met |",
		"| Memory: ≤ 300 B per session (≤ 300 MB per million) | 250 B per session (MemoryStore/1000000) | met |",
		"| Read, redis: 1 round trip | — | not measured |",
		"| ours-memory | 5.00 µs (2.50×) |",
		"| Read | 1 (1) |",
		"PostgreSQL statements (round trips) per request",
		"| workload | ours-postgres |",
		"| New, redis: no slower than scs | 38.0 µs vs 40.0 µs (0.95×) | met |",
		"| Redis memory: ≤ the leanest peer's bytes per session, every hash in listpack | 266 B vs 282 B for gincontrib-redis, 100% listpack | met |",
		"| New, redis: Redis command time ≤ 2× scs's | 2.33× (7 µs vs 3 µs) | NOT met |",
		"| New, redis: Redis process CPU ≤ 2× scs's | 1.42× (17 µs vs 12 µs) | met |",
		"| HTTP load, new, redis: throughput ≥ the faster peer's, p99 no worse | 14581 vs 10059 req/s for scs-redis, p99 12.2 ms vs 15.8 ms | met |",
		"| HTTP load, counter, redis: throughput ≥ the faster peer's, p99 no worse | — | not measured |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
