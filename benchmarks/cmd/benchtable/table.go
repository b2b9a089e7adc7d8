package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// unitOrder is the column order; units not listed follow, sorted.
var unitOrder = []string{"ns/op", "cpu-µs/op", "B/op", "allocs/op", "stmts/op", "rtt/op", "cmds/op", "cmd-µs/op", "srv-cpu-µs/op",
	"req/s", "p50-µs", "p99-µs", "redis-B/session", "usage-B/key", "listpack-%"}

// group is the benchmarks under one top-level name, e.g. "Counter".
type group struct {
	name string
	rows []string // the sub-benchmark names, e.g. "scs-redis"
}

func groups(res results) []group {
	var gs []group
	at := map[string]int{}
	for _, n := range res.names {
		top, sub, ok := strings.Cut(n, "/")
		if !ok {
			sub = top
		}
		i, seen := at[top]
		if !seen {
			i = len(gs)
			at[top] = i
			gs = append(gs, group{name: top})
		}
		gs[i].rows = append(gs[i].rows, sub)
	}
	return gs
}

// writeTables prints one Markdown table per group: medians, their spread,
// and, when the group has a "bare" row, each time as a multiple of it.
func writeTables(w io.Writer, res results) {
	for i, g := range groups(res) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		units := groupUnits(res, g)
		bare, hasBare := res.by[g.name+"/bare"].median("ns/op")
		fmt.Fprintf(w, "%s (median of %d)\n\n", g.name, runs(res, g))
		head := []string{"system"}
		for _, u := range units {
			if u == "ns/op" {
				head = append(head, "time/op")
			} else {
				head = append(head, u)
			}
			if u == "ns/op" {
				head = append(head, "±")
				if hasBare {
					head = append(head, "× bare")
				}
			}
		}
		writeRow(w, head)
		writeRule(w, len(head))
		for _, row := range g.rows {
			s := res.by[g.name+"/"+row]
			if row == g.name {
				s = res.by[g.name]
			}
			cells := []string{row}
			for _, u := range units {
				m, ok := s.median(u)
				cells = append(cells, formatValue(u, m, ok))
				if u == "ns/op" {
					cells = append(cells, fmt.Sprintf("%.0f%%", 100*s.spread(u)))
					if hasBare {
						cells = append(cells, formatRatio(m, bare, ok))
					}
				}
			}
			writeRow(w, cells)
		}
	}
}

func groupUnits(res results, g group) []string {
	seen := map[string]bool{}
	for _, row := range g.rows {
		for u := range res.by[g.name+"/"+row] {
			seen[u] = true
		}
		for u := range res.by[g.name] {
			seen[u] = true
		}
	}
	var units, rest []string
	for _, u := range unitOrder {
		if seen[u] {
			units = append(units, u)
			delete(seen, u)
		}
	}
	for u := range seen {
		rest = append(rest, u)
	}
	sort.Strings(rest)
	return append(units, rest...)
}

// runs is the largest number of samples of any row in g: the -count.
func runs(res results, g group) int {
	n := 0
	for _, row := range g.rows {
		for _, v := range res.by[g.name+"/"+row] {
			n = max(n, len(v))
		}
		for _, v := range res.by[g.name] {
			n = max(n, len(v))
		}
	}
	return n
}

func writeRow(w io.Writer, cells []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

func writeRule(w io.Writer, n int) {
	cells := make([]string, n)
	cells[0] = "---"
	for i := 1; i < n; i++ {
		cells[i] = "---:"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(cells, "|"))
}

func formatValue(unit string, v float64, ok bool) string {
	if !ok {
		return ""
	}
	switch unit {
	case "ns/op":
		return formatTime(v)
	case "B/op", "allocs/op":
		return fmt.Sprintf("%.0f", v)
	}
	return trimFloat(v)
}

// formatTime prints nanoseconds with three significant digits.
func formatTime(ns float64) string {
	switch {
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func formatRatio(v, base float64, ok bool) string {
	if !ok || base == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", v/base)
}
