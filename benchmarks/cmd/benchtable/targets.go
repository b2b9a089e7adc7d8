package main

import (
	"fmt"
	"io"
)

// verdict is one target checked against the medians.
type verdict struct {
	target   string
	measured string
	met      string // "met", "NOT met" or "not measured"
}

// lookup returns the median of unit for benchmark name.
func (r results) lookup(name, unit string) (float64, bool) {
	s, ok := r.by[name]
	if !ok {
		return 0, false
	}
	return s.median(unit)
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

var unmeasured = verdict{measured: "—", met: "not measured"}

// targets checks the library's performance targets; each ratio is taken
// within the one run that produced the input.
func targets(r results) []verdict {
	var vs []verdict
	add := func(target string, v verdict) {
		v.target = target
		vs = append(vs, v)
	}
	for _, g := range []string{"Untouched", "UntouchedCookie"} {
		for _, store := range []string{"memory", "redis"} {
			add(fmt.Sprintf("%s, %s: ≤ 1.05× bare, ≤ 2 allocs added", g, store), untouched(r, g, "ours-"+store))
		}
		add(g+", redis: zero store calls", roundTrips(r, g+"/ours-redis", func(n float64) bool { return n == 0 }))
	}
	add("Counter, redis: ≤ 2 round trips", roundTrips(r, "Counter/ours-redis", func(n float64) bool { return n <= 2 }))
	add("Counter, redis: ≤ 1.15× (2 × PING floor + bare)", counterFloor(r))
	add("Read, redis: 1 round trip", roundTrips(r, "Read/ours-redis", func(n float64) bool { return n == 1 }))
	add("Counter, memory: ≥ 4× faster than the faster peer, ≤ ¼ of its allocs", againstPeer(r, "Counter", 4, true))
	add("Read, memory: ≥ 4× faster than the faster peer, ≤ ¼ of its allocs", againstPeer(r, "Read", 4, true))
	add("New, memory: ≥ 2× faster than the faster peer", againstPeer(r, "New", 2, false))
	for _, store := range []string{"memory", "redis"} {
		add("CounterParallel, "+store+": ahead of both peers", parallelLead(r, store))
	}
	add("Memory: ≤ 300 B per session (≤ 300 MB per million)", memoryPerSession(r))
	for _, g := range []string{"Untouched", "UntouchedCookie"} {
		for _, store := range []string{"memory", "redis"} {
			add(fmt.Sprintf("%s, %s: no slower than gin-contrib, no more allocs", g, store), notBehind(r, g, store, "gincontrib-"+store, true))
		}
	}
	add("New, redis: no slower than scs", notBehind(r, "New", "redis", "scs-redis", false))
	add("Redis memory: ≤ the leanest peer's bytes per session, every hash in listpack", redisMemory(r))
	for _, g := range []string{"Counter", "New"} {
		add(g+", redis: Redis command time ≤ 2× scs's", serverCost(r, g, "cmd-µs/op"))
		add(g+", redis: Redis process CPU ≤ 2× scs's", serverCost(r, g, "srv-cpu-µs/op"))
	}
	for _, route := range []string{"counter", "new"} {
		add("HTTP load, "+route+", redis: throughput ≥ the faster peer's, p99 no worse", httpLoad(r, route))
	}
	for _, store := range []string{"sqlite", "mariadb"} {
		for _, g := range []string{"Untouched", "UntouchedCookie", "Read", "Counter", "New", "CounterParallel"} {
			add(fmt.Sprintf("%s, %s: no slower than the faster peer", g, store), notBehindFaster(r, g, store))
		}
		add("Read, "+store+": 1 statement", statements(r, "Read/ours-"+store, func(n float64) bool { return n == 1 }))
		add("Counter, "+store+": ≤ 2 statements", statements(r, "Counter/ours-"+store, func(n float64) bool { return n <= 2 }))
		add("New, "+store+": 1 statement", statements(r, "New/ours-"+store, func(n float64) bool { return n == 1 }))
	}
	return vs
}

// notBehind compares ours on g with one peer: time, and allocations too
// when allocs is set.
func notBehind(r results, g, store, peer string, allocs bool) verdict {
	ns, ok1 := r.lookup(g+"/ours-"+store, "ns/op")
	peerNS, ok2 := r.lookup(g+"/"+peer, "ns/op")
	if !(ok1 && ok2) {
		return unmeasured
	}
	measured := fmt.Sprintf("%s vs %s (%.2f×)", formatTime(ns), formatTime(peerNS), ns/peerNS)
	met := ns <= peerNS
	if allocs {
		a, ok3 := r.lookup(g+"/ours-"+store, "allocs/op")
		pa, ok4 := r.lookup(g+"/"+peer, "allocs/op")
		if !(ok3 && ok4) {
			return unmeasured
		}
		measured += fmt.Sprintf(", %.0f vs %.0f allocs", a, pa)
		met = met && a <= pa
	}
	return verdict{measured: measured, met: metWord(met)}
}

// notBehindFaster compares ours on store with the faster of the two peers
// on the same store.
func notBehindFaster(r results, g, store string) verdict {
	peer, _, ok := fasterPeer(r, g, store)
	if !ok {
		return unmeasured
	}
	v := notBehind(r, g, store, peer, false)
	if v.met != unmeasured.met {
		v.measured += " for " + peer
	}
	return v
}

// statements checks a SQL system's statements per request.
func statements(r results, name string, ok func(float64) bool) verdict {
	n, found := r.lookup(name, "stmts/op")
	if !found {
		return unmeasured
	}
	return verdict{measured: trimFloat(n) + " statements", met: metWord(ok(n))}
}

func redisMemory(r results) verdict {
	ours, ok1 := r.lookup("RedisMemory/ours-redis", "redis-B/session")
	listpack, ok2 := r.lookup("RedisMemory/ours-redis", "listpack-%")
	peer, peerB, ok3 := "", 0.0, false
	for _, p := range []string{"gincontrib-redis", "scs-redis"} {
		if v, found := r.lookup("RedisMemory/"+p, "redis-B/session"); found && (!ok3 || v < peerB) {
			peer, peerB, ok3 = p, v, true
		}
	}
	if !(ok1 && ok2 && ok3) {
		return unmeasured
	}
	return verdict{
		measured: fmt.Sprintf("%.0f B vs %.0f B for %s, %.0f%% listpack", ours, peerB, peer, listpack),
		met:      metWord(ours <= peerB && listpack == 100),
	}
}

func serverCost(r results, g, unit string) verdict {
	ours, ok1 := r.lookup(g+"/ours-redis", unit)
	scs, ok2 := r.lookup(g+"/scs-redis", unit)
	if !(ok1 && ok2) || scs == 0 {
		return unmeasured
	}
	return verdict{
		measured: fmt.Sprintf("%.2f× (%s µs vs %s µs)", ours/scs, trimFloat(ours), trimFloat(scs)),
		met:      metWord(ours <= 2*scs),
	}
}

func httpLoad(r results, route string) verdict {
	name := "HTTPLoad/" + route + "/"
	rps, ok1 := r.lookup(name+"ours-redis", "req/s")
	p99, ok2 := r.lookup(name+"ours-redis", "p99-µs")
	peer, peerRPS, ok3 := "", 0.0, false
	for _, p := range []string{"gincontrib-redis", "scs-redis"} {
		if v, found := r.lookup(name+p, "req/s"); found && (!ok3 || v > peerRPS) {
			peer, peerRPS, ok3 = p, v, true
		}
	}
	peerP99, ok4 := r.lookup(name+peer, "p99-µs")
	if !(ok1 && ok2 && ok3 && ok4) {
		return unmeasured
	}
	return verdict{
		measured: fmt.Sprintf("%.0f vs %.0f req/s for %s, p99 %s vs %s", rps, peerRPS, peer, formatTime(p99*1e3), formatTime(peerP99*1e3)),
		met:      metWord(rps >= peerRPS && p99 <= peerP99),
	}
}

func untouched(r results, g, sys string) verdict {
	ns, ok1 := r.lookup(g+"/"+sys, "ns/op")
	bare, ok2 := r.lookup(g+"/bare", "ns/op")
	allocs, ok3 := r.lookup(g+"/"+sys, "allocs/op")
	bareAllocs, ok4 := r.lookup(g+"/bare", "allocs/op")
	if !(ok1 && ok2 && ok3 && ok4) || bare == 0 {
		return unmeasured
	}
	ratio, added := ns/bare, allocs-bareAllocs
	return verdict{
		measured: fmt.Sprintf("%.2f× bare (%s vs %s), %+.0f allocs", ratio, formatTime(ns), formatTime(bare), added),
		met:      metWord(ratio <= 1.05 && added <= 2),
	}
}

func roundTrips(r results, name string, ok func(float64) bool) verdict {
	n, found := r.lookup(name, "rtt/op")
	if !found {
		return unmeasured
	}
	cmds, _ := r.lookup(name, "cmds/op")
	return verdict{measured: fmt.Sprintf("%s round trips, %s commands", trimFloat(n), trimFloat(cmds)), met: metWord(ok(n))}
}

func counterFloor(r results) verdict {
	ns, ok1 := r.lookup("Counter/ours-redis", "ns/op")
	ping, ok2 := r.lookup("RedisFloor/goredis-ping", "ns/op")
	bare, ok3 := r.lookup("Counter/bare", "ns/op")
	if !(ok1 && ok2 && ok3) {
		return unmeasured
	}
	floor := 2*ping + bare
	return verdict{
		measured: fmt.Sprintf("%.2f× (%s vs 2 × %s + %s)", ns/floor, formatTime(ns), formatTime(ping), formatTime(bare)),
		met:      metWord(ns <= 1.15*floor),
	}
}

// fasterPeer is the memory-store peer with the lower median time on g.
func fasterPeer(r results, g, store string) (name string, ns float64, ok bool) {
	for _, p := range []string{"gincontrib-" + store, "scs-" + store} {
		v, found := r.lookup(g+"/"+p, "ns/op")
		if found && (!ok || v < ns) {
			name, ns, ok = p, v, true
		}
	}
	return name, ns, ok
}

func againstPeer(r results, g string, factor float64, allocs bool) verdict {
	peer, peerNS, ok1 := fasterPeer(r, g, "memory")
	ns, ok2 := r.lookup(g+"/ours-memory", "ns/op")
	if !(ok1 && ok2) || ns == 0 {
		return unmeasured
	}
	speedup := peerNS / ns
	met := speedup >= factor
	measured := fmt.Sprintf("%.1f× faster than %s (%s vs %s)", speedup, peer, formatTime(ns), formatTime(peerNS))
	if allocs {
		a, ok3 := r.lookup(g+"/ours-memory", "allocs/op")
		pa, ok4 := r.lookup(g+"/"+peer, "allocs/op")
		if !(ok3 && ok4) {
			return unmeasured
		}
		met = met && a <= pa/factor
		measured += fmt.Sprintf(", %.0f vs %.0f allocs", a, pa)
	}
	return verdict{measured: measured, met: metWord(met)}
}

func parallelLead(r results, store string) verdict {
	peer, peerNS, ok1 := fasterPeer(r, "CounterParallel", store)
	ns, ok2 := r.lookup("CounterParallel/ours-"+store, "ns/op")
	if !(ok1 && ok2) || ns == 0 {
		return unmeasured
	}
	return verdict{
		measured: fmt.Sprintf("%s vs %s for %s (%.1f×)", formatTime(ns), formatTime(peerNS), peer, peerNS/ns),
		met:      metWord(ns < peerNS),
	}
}

func memoryPerSession(r results) verdict {
	for _, name := range r.names {
		if v, ok := r.lookup(name, "B/session"); ok {
			return verdict{measured: fmt.Sprintf("%.0f B per session (%s)", v, name), met: metWord(v <= 300)}
		}
	}
	return unmeasured
}

func writeTargets(w io.Writer, r results) {
	fmt.Fprintln(w, "Targets (ratios within this run)")
	fmt.Fprintln(w)
	writeRow(w, []string{"target", "measured", "verdict"})
	writeRow(w, []string{"---", "---", "---"})
	for _, v := range targets(r) {
		writeRow(w, []string{v.target, v.measured, v.met})
	}
}
