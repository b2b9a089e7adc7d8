package sessions

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Hooks are the functions through which an application sees what sessions
// do: lifecycle events, and every store call the middleware and the
// per-user functions make. Any field may be nil, and a nil field costs
// nothing: a middleware without hooks runs exactly as before.
//
// The hooks run on the request's goroutine (the janitor's or the cleaner's
// for expiry events), while the session is locked: they must be quick and
// must not call the request's Session. Package otelsessions turns them into
// OpenTelemetry metrics and spans.
type Hooks struct {
	// Event receives each lifecycle event once the store call that makes it
	// true has succeeded: a failed save reports EventFailed, never
	// EventCreated or EventLoggedIn. ctx is the request's, or, for an event
	// found without a request (EventExpired, EventEvicted), a background
	// context.
	Event func(ctx context.Context, e Event)
	// StoreStart runs before each store call. The context it returns is the
	// one the store call gets, and StoreDone after it: a tracer's span goes
	// there. Returning ctx itself is fine.
	StoreStart func(ctx context.Context, op StoreOp) context.Context
	// StoreDone runs after each store call, with the call's duration and its
	// error (nil when it succeeded; a Load that finds nothing succeeded).
	StoreDone func(ctx context.Context, op StoreOp, d time.Duration, err error)
}

// WithHooks reports the middleware's lifecycle events and store calls to h;
// default none. Several WithHooks add up: each hook runs in the order given.
// When the store is an EventSource, Middleware also adds h to it, so that h
// gets the store's expiry events and the calls of the per-user functions
// (UserSessions, RevokeSession, RevokeUserSessions) on that store.
func WithHooks(h Hooks) Option {
	return func(m *middleware) { m.hooks = joinHooks(m.hooks, h) }
}

// Event is one step in a session's life. It carries the session's public
// handle and user, never its token or its store id, so it is safe to log.
type Event struct {
	Kind EventKind
	// UUID is the session's public handle (Session.UUID); "" for an
	// EventFailed of a session that could not be loaded.
	UUID string
	// Principal is the user the session is bound to, "" for an anonymous
	// session.
	Principal string
	// At is when the event took effect.
	At time.Time
	// Err is, for EventFailed, the error that the error handler answered;
	// nil for every other kind. Its text may name the store's keys: record
	// its kind (errors.Is with ErrUnavailable, ErrInterrupted, ...), not
	// its text, where tokens must not leak.
	Err error
}

// EventKind says what happened to a session.
type EventKind uint8

// The kinds of Event.
const (
	// EventCreated: a new session was saved.
	EventCreated EventKind = iota + 1
	// EventLoggedIn: Login's save succeeded.
	EventLoggedIn
	// EventCycled: CycleKey's save succeeded (Login reports EventLoggedIn
	// instead).
	EventCycled
	// EventFlushed: Flush (logout) deleted the session.
	EventFlushed
	// EventRevoked: a revocation ended the session: RevokeSession,
	// RevokeUserSessions, Session.RevokeOtherSessions, Session.RevokeSession
	// of another session (of its own it is a logout, EventFlushed) or the
	// cap of WithMaxSessionsPerUser, one event per session ended.
	EventRevoked
	// EventExpired: the store found the session expired, at least once: the
	// memory store's janitor, PostgreSQL's cleaner, Redis's sweep of the
	// per-user index for logged-in sessions. A revoked or flushed session
	// never reports it.
	EventExpired
	// EventEvicted: the memory store evicted the session to stay within
	// WithMaxSessions.
	EventEvicted
	// EventFailed: the error handler answered the request instead of the
	// handler; Event.Err says why.
	EventFailed
)

var eventNames = [...]string{
	EventCreated:  "created",
	EventLoggedIn: "logged_in",
	EventCycled:   "cycled",
	EventFlushed:  "flushed",
	EventRevoked:  "revoked",
	EventExpired:  "expired",
	EventEvicted:  "evicted",
	EventFailed:   "failed",
}

// String returns the kind's name in lower case, as metrics label it:
// "created", "logged_in", "cycled", "flushed", "revoked", "expired",
// "evicted", "failed"; "unknown" for any other value.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// StoreOp names a store call, for StoreStart and StoreDone.
type StoreOp struct {
	// Name is the call in lower case: "load", "save", "delete", "touch",
	// and for the per-user index "user_tag", "load_user_sessions" and
	// "delete_user_sessions".
	Name string
	// Store is "memory", "redis", "postgres", "sqlite" or "mysql" for the
	// stores of this module, pgstore and sqlstore; another store's
	// StoreName when it is a StoreNamer, else its type name.
	Store string
}

// String returns op.Name.
func (op StoreOp) String() string { return op.Name }

// StoreNamer is the optional interface of a Store that names itself in
// StoreOp.Store; without it the store is named after its Go type.
type StoreNamer interface {
	StoreName() string
}

// EventSource is a store that learns of events without a request: expiry
// found by a janitor, cleaner or sweep, and eviction. Each hooks' Event gets
// them (EventExpired, EventEvicted), at least once; several Hooks may be
// added, and each one added receives every event, so add a Hooks once.
// Middleware(store, WithHooks(h)) adds h itself; a worker that runs no
// middleware calls store.AddHooks(h).
//
// The hooks added to a store also see the store calls and EventRevoked of
// the per-user functions called with that store (UserSessions,
// RevokeSession, RevokeUserSessions), which have no middleware to ask.
type EventSource interface {
	AddHooks(h Hooks)
}

// StoreHooks keeps the hooks added to a store: a store in another package
// implements EventSource by embedding a StoreHooks, which the per-user
// functions then find, and reports its expiry events with Emit. The zero
// value holds no hooks and is ready to use; it is safe for concurrent use.
type StoreHooks struct {
	mu    sync.Mutex            // serializes AddHooks
	hooks atomic.Pointer[Hooks] // read on every call without a lock
}

// AddHooks implements EventSource.
func (sh *StoreHooks) AddHooks(h Hooks) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	joined := joinHooks(sh.Hooks(), h)
	sh.hooks.Store(&joined)
}

// Hooks returns the combination of the hooks added so far.
func (sh *StoreHooks) Hooks() Hooks {
	if h := sh.hooks.Load(); h != nil {
		return *h
	}
	return Hooks{}
}

// Listening reports whether any Event hook was added, so that a store can
// skip gathering what it would report to nobody.
func (sh *StoreHooks) Listening() bool {
	h := sh.hooks.Load()
	return h != nil && h.Event != nil
}

// Emit reports e to every Event hook added. A store calls it for the
// events it finds itself: EventExpired, EventEvicted.
func (sh *StoreHooks) Emit(ctx context.Context, e Event) {
	if h := sh.hooks.Load(); h != nil && h.Event != nil {
		h.Event(ctx, e)
	}
}

// storeHooks lets the per-user functions find the hooks of a store that
// embeds a StoreHooks.
func (sh *StoreHooks) storeHooks() *StoreHooks { return sh }

// hookCarrier is a store that keeps its hooks in a StoreHooks.
type hookCarrier interface {
	storeHooks() *StoreHooks
}

// empty reports whether h has no hook at all.
func (h Hooks) empty() bool {
	return h.Event == nil && h.StoreStart == nil && h.StoreDone == nil
}

// joinHooks returns hooks that run a's, then b's. Where one side has no
// hook the other's is used as it is, so a single Hooks costs no extra call.
func joinHooks(a, b Hooks) Hooks {
	out := a
	switch {
	case a.Event == nil:
		out.Event = b.Event
	case b.Event != nil:
		ae, be := a.Event, b.Event
		out.Event = func(ctx context.Context, e Event) { ae(ctx, e); be(ctx, e) }
	}
	switch {
	case a.StoreStart == nil:
		out.StoreStart = b.StoreStart
	case b.StoreStart != nil:
		as, bs := a.StoreStart, b.StoreStart
		out.StoreStart = func(ctx context.Context, op StoreOp) context.Context { return bs(as(ctx, op), op) }
	}
	switch {
	case a.StoreDone == nil:
		out.StoreDone = b.StoreDone
	case b.StoreDone != nil:
		// Done runs in the reverse order of Start, as deferred calls do, so
		// that nested spans end inside out.
		ad, bd := a.StoreDone, b.StoreDone
		out.StoreDone = func(ctx context.Context, op StoreOp, d time.Duration, err error) {
			bd(ctx, op, d, err)
			ad(ctx, op, d, err)
		}
	}
	return out
}

// addHooks wires the middleware's hooks: the store learns them when it is
// an EventSource, and the middleware calls the store through a wrapper
// that reports each call. Without hooks nothing changes.
func (m *middleware) addHooks() {
	if m.hooks.empty() {
		return
	}
	if es, ok := m.store.(EventSource); ok {
		es.AddHooks(m.hooks)
	}
	m.store = withHooks(m.store, m.hooks)
}

// emit reports an event of the request's session to the middleware's
// hooks, with the context of the session's store calls. The caller holds
// s.mu.
func (s *Session) emit(kind EventKind, uuid, principal string, err error) {
	if ev := s.mw.hooks.Event; ev != nil {
		ev(s.storeCtx(), Event{Kind: kind, UUID: uuid, Principal: principal, At: s.mw.now(), Err: err})
	}
}

// startedKind says which event a new record saved now starts: a Login's,
// a CycleKey's, or a new session's. The caller holds s.mu.
func (s *Session) startedKind() EventKind {
	switch {
	case s.cycled == EventLoggedIn:
		return EventLoggedIn
	case s.cycled == EventCycled && s.rec.UUID != "":
		return EventCycled
	}
	return EventCreated
}

// emitStarted reports the save of a new record: EventCreated for a session
// that had no UUID before, then the Login's or CycleKey's event. The caller
// holds s.mu.
func (s *Session) emitStarted(kind EventKind, uuid, principal string) {
	if s.rec.UUID == "" {
		s.emit(EventCreated, uuid, principal, nil)
		if kind != EventLoggedIn {
			return
		}
	}
	s.emit(kind, uuid, principal, nil)
}

// failed reports that the error handler answered for the session.
func (s *Session) failed(err error) {
	if s.mw.hooks.Event == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var uuid, principal string
	if s.sessionData != nil {
		uuid, principal = s.rec.UUID, s.rec.Principal
	}
	s.emit(EventFailed, uuid, principal, err)
}
