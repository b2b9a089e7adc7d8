package main

import (
	"fmt"
	"io"
	"strings"
)

// writeSummary prints compact tables: every system's median time on every
// workload with its multiple of bare Gin, the Redis round trips of every
// Redis system on every workload, and the PostgreSQL statements of every
// PostgreSQL system. Groups without a "bare" row
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

	writeTrips(w, res, gs, systems, "-redis", "Redis round trips (commands) per request", "rtt/op", "cmds/op")
	writeTrips(w, res, gs, systems, "-postgres", "PostgreSQL statements (round trips) per request", "stmts/op", "rtt/op")
	writeTrips(w, res, gs, systems, "-sqlite", "SQLite statements (calls into the driver) per request", "stmts/op", "rtt/op")
	writeTrips(w, res, gs, systems, "-mariadb", "MariaDB statements (round trips) per request", "stmts/op", "rtt/op")
}

// writeTrips prints, for the systems whose name ends in suffix, a table of
// two per-request counts on every workload: main, then other in brackets.
func writeTrips(w io.Writer, res results, gs []group, systems []string, suffix, title, main, other string) {
	var names []string
	for _, sys := range systems {
		if strings.HasSuffix(sys, suffix) {
			names = append(names, sys)
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, title)
	fmt.Fprintln(w)
	writeRow(w, append([]string{"workload"}, names...))
	writeRule(w, len(names)+1)
	for _, g := range gs {
		cells := []string{g.name}
		for _, sys := range names {
			m, ok := res.lookup(g.name+"/"+sys, main)
			o, _ := res.lookup(g.name+"/"+sys, other)
			cell := ""
			if ok {
				cell = fmt.Sprintf("%s (%s)", trimFloat(round2(m)), trimFloat(round2(o)))
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
