// Command benchtable turns the output of the session benchmarks into
// Markdown tables of medians, with each system's time as a ratio of bare
// Gin's on the same workload, and checks the library's performance targets.
//
// Usage:
//
//	go test -run '^$' -bench . -benchmem -count 5 | go run ./cmd/benchtable
//	go run ./cmd/benchtable bench.txt
//
// It exits with status 2 when the input holds no benchmark result.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(res.names) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results in the input")
		os.Exit(2)
	}
	writeSummary(os.Stdout, res)
	fmt.Fprintln(os.Stdout)
	writeTables(os.Stdout, res)
	fmt.Fprintln(os.Stdout)
	writeTargets(os.Stdout, res)
}
