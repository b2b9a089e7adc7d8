package sessions

import (
	"context"
	"fmt"
	"time"
)

// The store calls are reported by a wrapper around the store, which a
// middleware with hooks uses instead of its store, and the per-user
// functions around a store that carries hooks. The call sites stay as they
// are, and a middleware without hooks has no wrapper at all: its store
// calls cost what they did.
//
// The middleware keeps its own store for what it asks of the store's type
// (UserStore, EventSource): an optional interface that the middleware looks
// for on the store it calls must be forwarded by these wrappers too.

// hookedStore reports every call to store to hooks.
type hookedStore struct {
	store Store
	hooks Hooks
	name  string // StoreOp.Store
}

// hookedUserStore is a hookedStore whose store keeps a per-user index, so
// that the wrapper is a UserStore exactly when the store is.
type hookedUserStore struct {
	hookedStore
	users UserStore
}

// withHooks returns store wrapped so that its calls report to h, or store
// itself when h is empty.
func withHooks(store Store, h Hooks) Store {
	if h.empty() {
		return store
	}
	hs := hookedStore{store: store, hooks: h, name: storeName(store)}
	if us, ok := store.(UserStore); ok {
		return &hookedUserStore{hookedStore: hs, users: us}
	}
	return &hs
}

// withStoreHooks returns store wrapped with the hooks added to it, for the
// per-user functions, which have no middleware to ask. A store the
// middleware wrapped already is returned as it is.
func withStoreHooks(store Store) Store {
	switch store.(type) {
	case *hookedStore, *hookedUserStore:
		return store
	}
	hc, ok := store.(hookCarrier)
	if !ok {
		return store
	}
	return withHooks(store, hc.storeHooks().Hooks())
}

// storeName is what StoreOp.Store says of store.
func storeName(store Store) string {
	if n, ok := store.(StoreNamer); ok {
		return n.StoreName()
	}
	return fmt.Sprintf("%T", store)
}

// start runs StoreStart for the call name and returns the call's context
// and its start time.
func (h *hookedStore) start(ctx context.Context, name string) (context.Context, time.Time) {
	if h.hooks.StoreStart != nil {
		ctx = h.hooks.StoreStart(ctx, StoreOp{Name: name, Store: h.name})
	}
	return ctx, time.Now()
}

// done runs StoreDone for the call name.
func (h *hookedStore) done(ctx context.Context, name string, began time.Time, err error) {
	if h.hooks.StoreDone != nil {
		h.hooks.StoreDone(ctx, StoreOp{Name: name, Store: h.name}, time.Since(began), err)
	}
}

// Load implements Store.
func (h *hookedStore) Load(ctx context.Context, id string) (Record, bool, error) {
	ctx, began := h.start(ctx, "load")
	rec, found, err := h.store.Load(ctx, id)
	h.done(ctx, "load", began, err)
	return rec, found, err
}

// Save implements Store, passing ch on as it is (Expect included): each
// try of a conditional save is a call of its own. A login's save that
// caps the user's sessions (Change.MaxUserSessions) reports an
// EventRevoked for each session the cap deleted, as the store names them
// through ch.Revoked, once the save has succeeded.
func (h *hookedStore) Save(ctx context.Context, id string, ch Change) error {
	var ended []string
	capped := ch.MaxUserSessions > 0 && h.hooks.Event != nil
	if capped {
		ch.Revoked = collect(&ended, ch.Revoked)
	}
	callCtx, began := h.start(ctx, "save")
	err := h.store.Save(callCtx, id, ch)
	h.done(callCtx, "save", began, err)
	if err == nil && capped {
		h.revoked(ctx, ch.Principal, ended)
	}
	return err
}

// Delete implements Store.
func (h *hookedStore) Delete(ctx context.Context, id string) (bool, error) {
	ctx, began := h.start(ctx, "delete")
	found, err := h.store.Delete(ctx, id)
	h.done(ctx, "delete", began, err)
	return found, err
}

// Touch implements Store.
func (h *hookedStore) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	ctx, began := h.start(ctx, "touch")
	err := h.store.Touch(ctx, id, seen, expires)
	h.done(ctx, "touch", began, err)
	return err
}

// UserTag implements UserStore.
func (h *hookedUserStore) UserTag(ctx context.Context, principal string) (string, error) {
	ctx, began := h.start(ctx, "user_tag")
	tag, err := h.users.UserTag(ctx, principal)
	h.done(ctx, "user_tag", began, err)
	return tag, err
}

// LoadUserSessions implements UserStore.
func (h *hookedUserStore) LoadUserSessions(ctx context.Context, principal string) ([]Record, error) {
	ctx, began := h.start(ctx, "load_user_sessions")
	recs, err := h.users.LoadUserSessions(ctx, principal)
	h.done(ctx, "load_user_sessions", began, err)
	return recs, err
}

// DeleteUserSessions implements UserStore, and reports an EventRevoked for
// each session deleted: every caller is a revocation. The store names the
// sessions through sel.Deleted; a store that does not gets one event per
// session counted, with the UUID only when sel names one.
func (h *hookedUserStore) DeleteUserSessions(ctx context.Context, principal string, sel UserSelection) (int, error) {
	var ended []string
	if h.hooks.Event != nil {
		sel.Deleted = collect(&ended, sel.Deleted)
	}
	callCtx, began := h.start(ctx, "delete_user_sessions")
	n, err := h.users.DeleteUserSessions(callCtx, principal, sel)
	h.done(callCtx, "delete_user_sessions", began, err)
	if err != nil || h.hooks.Event == nil {
		return n, err
	}
	if ended == nil {
		for range n {
			ended = append(ended, sel.UUID)
		}
	}
	h.revoked(ctx, principal, ended)
	return n, nil
}

// collect returns a callback for the UUIDs a store names (Change.Revoked,
// UserSelection.Deleted) that appends each to *into, then passes it on to
// the caller's own callback, if any.
func collect(into *[]string, caller func(uuid string)) func(uuid string) {
	return func(uuid string) {
		*into = append(*into, uuid)
		if caller != nil {
			caller(uuid)
		}
	}
}

// revoked reports an EventRevoked for each of principal's sessions ended.
func (h *hookedStore) revoked(ctx context.Context, principal string, ended []string) {
	at := time.Now()
	for _, uuid := range ended {
		h.hooks.Event(ctx, Event{Kind: EventRevoked, UUID: uuid, Principal: principal, At: at})
	}
}
