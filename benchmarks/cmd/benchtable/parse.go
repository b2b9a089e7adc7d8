package main

import (
	"bufio"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// samples holds every value measured for one benchmark, by unit.
type samples map[string][]float64

// results are the benchmarks in the order they first appear, with their
// samples.
type results struct {
	names []string
	by    map[string]samples
}

// procsSuffix is the "-2" that go test appends for GOMAXPROCS.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads `go test -bench` output. Lines that are not results (headers,
// PASS, logs) are ignored; a benchmark run several times (-count) gathers
// one sample per run.
func parse(r io.Reader) (results, error) {
	res := results{by: map[string]samples{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		s, ok := res.by[name]
		if !ok {
			s = samples{}
			res.by[name] = s
			res.names = append(res.names, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			s[f[i+1]] = append(s[f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// median of the samples of unit; ok is false when there are none.
func (s samples) median(unit string) (m float64, ok bool) {
	v := append([]float64(nil), s[unit]...)
	if len(v) == 0 {
		return 0, false
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// spread is the largest distance of a sample from the median, as a
// fraction of the median: how far to trust the median's digits.
func (s samples) spread(unit string) float64 {
	m, ok := s.median(unit)
	if !ok || m == 0 {
		return 0
	}
	var d float64
	for _, v := range s[unit] {
		if x := (v - m) / m; x > d {
			d = x
		} else if -x > d {
			d = -x
		}
	}
	return d
}
