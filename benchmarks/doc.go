// Package benchmarks measures what a session costs a Gin request, side by
// side with github.com/gin-contrib/sessions and github.com/alexedwards/scs/v2,
// on the same in-process gin.Engine, with the memory and the Redis stores of
// each.
//
// It is a module of its own so that the competitors never enter the library's
// module graph. Everything lives in the package's tests: run ./run.sh (or
// `make bench` from the repository root) for the full table, or
// `go test -run '^$' -bench .` for the raw numbers. README.md says what each
// workload means.
package benchmarks
