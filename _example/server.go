package main

import (
	"net/http"
	"time"
)

// newServer serves handler with timeouts. Bare http.Serve has none, so a
// client that sends its headers one byte at a time, or never finishes its
// body, holds a connection and a goroutine for as long as it likes.
func newServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler: handler,
		// The headers of a real browser arrive at once; a slow trickle is an
		// attack.
		ReadHeaderTimeout: 5 * time.Second,
		// The whole request, body included: the site's forms are a few bytes.
		ReadTimeout: 10 * time.Second,
		// Longer than the store's own timeouts (one second for Redis), so a
		// request that waits on the store still gets its 503 out.
		WriteTimeout: 30 * time.Second,
		// How long a kept-alive connection may wait for its next request.
		IdleTimeout: 2 * time.Minute,
	}
}
