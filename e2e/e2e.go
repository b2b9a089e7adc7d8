// Package e2e drives the example site in a real headless Chromium. It is a
// module of its own so that the browser driver never becomes a dependency
// of the sessions package. Run it with `make e2e`, or `go test ./...` here.
package e2e
