package main

import "github.com/ginsessions/sessions"

// newStore returns the store the site keeps its sessions in, and how to
// release it.
func newStore() (sessions.Store, func(), error) {
	store := sessions.NewMemoryStore()
	return store, func() { store.Close() }, nil
}
