package main

import (
	"fmt"
	"io"
	"strings"
)

// writeSummary prints two compact tables: every system's median time on
// every workload with its multiple of bare Gin, and the Redis round trips
// of every Redis system on every workload. Groups without a "bare" row
// (the Redis floor, the memory store) are left to their own tables.
func writeSummary(w io.Writer, res results) {
	var gs []group
	var systems []string
	seen := map[string]bool{}
	for _, g := range groups(res) {
		if _, ok := res.by[g.name+"/bare"]; !ok {
			continue
		}
		gs = append(gs, g)
		for _, row := range g.rows {
			if !seen[row] {
				seen[row] = true
				systems = append(systems, row)
			}
		}
	}
	if len(gs) == 0 {
		return
	}
	fmt.Fprintln(w, "Median time per request (multiple of bare Gin on the same workload)")
	fmt.Fprintln(w)
	head := []string{"system"}
	for _, g := range gs {
		head = append(head, g.name)
	}
	writeRow(w, head)
	writeRule(w, len(head))
	for _, sys := range systems {
		cells := []string{sys}
		for _, g := range gs {
			ns, ok := res.lookup(g.name+"/"+sys, "ns/op")
			bare, _ := res.lookup(g.name+"/bare", "ns/op")
			cell := ""
			if ok {
				cell = formatTime(ns) + " (" + formatRatio(ns, bare, true) + ")"
			}
			cells = append(cells, cell)
		}
		writeRow(w, cells)
	}

	var redis []string
	for _, sys := range systems {
		if strings.HasSuffix(sys, "-redis") {
			redis = append(redis, sys)
		}
	}
	if len(redis) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Redis round trips (commands) per request")
	fmt.Fprintln(w)
	writeRow(w, append([]string{"workload"}, redis...))
	writeRule(w, len(redis)+1)
	for _, g := range gs {
		cells := []string{g.name}
		for _, sys := range redis {
			rtt, ok := res.lookup(g.name+"/"+sys, "rtt/op")
			cmds, _ := res.lookup(g.name+"/"+sys, "cmds/op")
			cell := ""
			if ok {
				cell = fmt.Sprintf("%s (%s)", trimFloat(round2(rtt)), trimFloat(round2(cmds)))
			}
			cells = append(cells, cell)
		}
		writeRow(w, cells)
	}
}

// round2 drops the noise of a parallel run's last request or two.
func round2(v float64) float64 {
	return float64(int64(v*100+0.5)) / 100
}
