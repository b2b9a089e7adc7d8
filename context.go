package sessions

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// ContextKey is the key under which the middleware stores the request's
// *Session in the gin.Context: c.MustGet(sessions.ContextKey).(*sessions.Session).
// WithContextKey chooses another key, for apps that run several sessions.
const ContextKey = "session"

// reservedPrefix marks the keys the package keeps for itself inside a
// session, as Django does with _session_expiry. Users cannot set them and
// Keys never lists them; stores may use the prefix for their bookkeeping.
const reservedPrefix = "_session_"

// flashesKey holds the pending flash messages, a JSON array.
const flashesKey = reservedPrefix + "flashes"

// testCookieKey and testCookieValue are Django's test-cookie pair.
const (
	testCookieKey   = "testcookie"
	testCookieValue = "worked"
)

// Default returns the session of the request. It panics with a message
// naming the fix when the middleware is not installed on the route.
//
// Call it in the handler, not in a goroutine that outlives the request: gin
// reuses its *gin.Context for later requests once the handler returns, so
// Default(c) called after the response may return another visitor's session
// (or panic). A goroutine that needs the session takes it before the
// handler returns, either the *Session itself or c.Copy(), whose Default is
// the same session:
//
//	s := sessions.Default(c) // or cp := c.Copy(), then sessions.Default(cp) in the goroutine
//	go func() {
//		s.Set("report", build()) // saved at once: see Session
//	}()
//
// Better still, read the values the goroutine needs before it starts, and
// pass them.
func Default(c *gin.Context) *Session {
	v, ok := c.Get(ContextKey)
	if !ok {
		panic("sessions: no session in the gin.Context under key " + strconv.Quote(ContextKey) +
			": install r.Use(sessions.Middleware(store)) before this handler; in a goroutine, call Default before the handler returns (gin reuses its Context)")
	}
	s, ok := v.(*Session)
	if !ok {
		panic(fmt.Sprintf("sessions: the gin.Context key %q holds a %T, not a *sessions.Session", ContextKey, v))
	}
	return s
}

// FromContext returns the request's session from a context.Context: the
// request context that net/http handlers mounted with gin.WrapH receive (or
// one derived from it), or the gin.Context itself. It reports false when
// there is none. When several middlewares give the request a session (see
// WithContextKey), it returns the one under ContextKey if any, otherwise
// that of the middleware that ran last. Unlike the gin.Context, which gin
// reuses, the request's context (c.Request.Context()) stays the request's:
// a goroutine that outlives the handler may take the session from it, with
// the rules of Session.
func FromContext(ctx context.Context) (*Session, bool) {
	if ctx == nil {
		return nil, false
	}
	if s, ok := ctx.Value(ctxKey(ContextKey)).(*Session); ok {
		return s, true
	}
	if s, ok := ctx.Value(ContextKey).(*Session); ok {
		return s, true
	}
	if c, ok := ctx.(*gin.Context); ok && c.Request != nil {
		ctx = c.Request.Context()
	}
	s, ok := ctx.Value(anySessionKey{}).(*Session)
	return s, ok
}

// ctxKey is the type of the request-context key that carries the session.
type ctxKey string

// Session is one visitor's data, Django's request.session. Get one with
// Default or FromContext. It loads from the store on first use, so a
// request that never touches it costs no store call, and the middleware
// saves it automatically just before the response headers are written.
//
// A Session is safe for use by several goroutines, during its request and
// after it. What a change does depends on when it is made:
//
//   - before the response headers: saved with them, the cookie set;
//   - after the headers, while the handler runs: saved when the handler
//     returns, if the client already holds the session's cookie;
//   - after the request has finished (in a goroutine that outlives the
//     handler): saved at once, one store call per change, if the client
//     already holds the session's cookie.
//
// A change that cannot be saved, because the session is new and only a
// cookie could carry it, because the request failed, or because the store
// failed, is never dropped silently: Err returns why, Save returns it, and
// during the request it is in c.Errors; after the request, when no handler
// is left to see it, it is also logged as a Warn record (see WithLogger).
// After the request, reads see what the request left and the goroutine's
// own changes, not what later requests did; CycleKey and Login fail, since
// no cookie can carry a new token. Take the Session (or c.Copy()) before
// the handler returns, never Default(c) in the goroutine: see Default.
type Session struct {
	mu  sync.Mutex
	mw  *middleware
	req *http.Request // the request as it reached the middleware: its context is the request's
	gin *gin.Context  // the request, c.ClientIP() at Login, c.Errors; nil once the request has ended

	// The lifecycle: see lifecycle.go.
	phase    phase
	sent     bool   // the commit ran: the response headers are gone
	late     bool   // changed after the headers, not saved yet
	answer   answer // who writes the response
	reported bool   // err is in c.Errors
	ended    bool   // the request has finished: gin may be serving another with its Context

	// The rest exists once the session is first used, so that requests
	// that never touch it stay small.
	*sessionData
}

// sessionData is a session's state once it has been loaded.
type sessionData struct {
	token string
	id    string // the digest of token, or of the offered token whose load failed
	rec   Record // metadata and the values as stored

	// The request's changes, over rec.Values. local holds the current
	// encoded value of every key set or incremented; incr says which of
	// those travel as increments; deleted lists keys to remove.
	local   map[string]string
	incr    map[string]int64
	deleted map[string]struct{}
	// pending holds the keys whose new value was computed from the stored
	// one by Update, AddFlash or Flashes: their save is conditional on the
	// store still holding that value (see Change.Expect), and a conflict
	// recomputes them from the newer one.
	pending map[string]*conditional

	expiry time.Duration // the session's policy, as Record.Expiry
	err    error         // the first failure; Err returns it
	vary   [1]string     // the response's own Vary value

	// Flags last, packed together: eight of them, so that sessionData
	// fills the 288-byte size class. Whether the request carried a cookie
	// is read again from it when needed (see discard).
	stored   bool // a live record is under token: loaded, or saved by this request
	modified bool // changed during this request (Django's modified)
	// cycled is what the next new record starts (see startedKind):
	// EventCycled after CycleKey, EventLoggedIn after Login, whose save
	// applies WithMaxSessionsPerUser; 0 otherwise. One byte, as a flag.
	cycled EventKind

	// Commit state.
	persisted    bool // the overlay holds nothing that is not saved
	issued       bool // a new token was saved and must reach the client
	sendCookie   bool // the cookie must be (re)sent: new token or new expiry
	expireCookie bool // the session was deleted and the client holds a cookie
	savedEarly   bool // Save wrote the record before the headers
}

// ID returns the session's token, the secret the cookie carries. It is ""
// until the session is first saved. Never log it: use UUID.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.stored {
		return ""
	}
	return s.token
}

// UUID returns the session's public handle, a UUID v4 that is safe to log
// or show. CycleKey keeps it; Flush starts a new one. It is "" until the
// session is first saved.
func (s *Session) UUID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.rec.UUID
}

// Get returns the value stored under key, or def[0] (nil without one) when
// the key is absent. Integers come back as int, other numbers as float64,
// objects as map[string]any and arrays as []any; use Value for a typed
// struct, map or slice.
func (s *Session) Get(key string, def ...any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if raw, ok := s.raw(key); ok {
		if v, ok := decodeValue(raw); ok {
			return v
		}
	}
	if len(def) > 0 {
		return def[0]
	}
	return nil
}

// GetString returns the string stored under key, or "" when the key is
// absent or holds another type.
func (s *Session) GetString(key string) string {
	v, _ := lookup(s, key, decodeString)
	return v
}

// GetInt returns the integer stored under key, or 0 when the key is absent
// or holds another type. Integers round-trip exactly.
func (s *Session) GetInt(key string) int {
	v, _ := lookup(s, key, decodeInt64)
	return int(v)
}

// GetInt64 returns the integer stored under key, or 0 when the key is
// absent or holds another type. math.MaxInt64 round-trips exactly.
func (s *Session) GetInt64(key string) int64 {
	v, _ := lookup(s, key, decodeInt64)
	return v
}

// GetFloat64 returns the number stored under key, or 0 when the key is
// absent or holds another type.
func (s *Session) GetFloat64(key string) float64 {
	v, _ := lookup(s, key, decodeFloat64)
	return v
}

// GetBool returns the boolean stored under key, or false when the key is
// absent or holds another type.
func (s *Session) GetBool(key string) bool {
	v, _ := lookup(s, key, func(raw string) (bool, bool) {
		b, err := strconv.ParseBool(raw)
		return b, err == nil && (raw == "true" || raw == "false")
	})
	return v
}

// GetTime returns the time.Time stored under key, or the zero time when the
// key is absent or holds another type.
func (s *Session) GetTime(key string) time.Time {
	v, _ := lookup(s, key, decodeTime)
	return v
}

// Value returns the value stored under key decoded into a T, for structs,
// maps and slices. It reports false when the key is absent or its value
// does not decode into a T.
func Value[T any](s *Session, key string) (T, bool) {
	return lookup(s, key, decodeInto[T])
}

// lookup backs every typed getter: it reads the encoded value of key and
// decodes it with decode.
func lookup[T any](s *Session, key string, decode func(string) (T, bool)) (T, bool) {
	raw, ok := s.rawLoaded(key)
	if !ok {
		var zero T
		return zero, false
	}
	return decode(raw)
}

// Set stores value under key. The value is encoded (as JSON) at once, so
// changing a slice or map after Set does not change the session. A value
// that cannot be encoded, or a key starting with "_session_" (reserved),
// leaves the session unchanged and fails the request through the error
// handler when the session is committed, with an error that names the key.
// A value that JSON would encode without its content cannot be encoded
// either: a struct that has fields but none exported or visible to
// encoding/json (all unexported, or tagged json:"-"), anywhere in the
// value, would be stored as {}. Structs with exported fields, empty
// structs and types with a MarshalJSON or MarshalText method are stored as
// encoding/json writes them, and read back by Get as maps keyed by their
// JSON names (Value decodes them into a struct again).
func (s *Session) Set(key string, value any) {
	enc, err := encodeValue(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	defer s.settle()
	if err != nil {
		s.fail(wrapError(fmt.Sprintf("sessions: cannot encode the value of key %q", key), err))
		return
	}
	if strings.HasPrefix(key, reservedPrefix) {
		s.fail(fmt.Errorf("sessions: key %q is reserved: keys starting with %q belong to the package", key, reservedPrefix))
		return
	}
	s.put(key, enc)
}

// SetDefault returns the value stored under key; when there is none it
// stores value and returns it, as Django's setdefault does.
func (s *Session) SetDefault(key string, value any) any {
	if v := s.Get(key, absent); v != absent {
		return v
	}
	s.Set(key, value)
	return value
}

// absent is a default no stored value can equal.
var absent = new(int)

// Pop removes key and returns its value, or def[0] (nil without one) when
// key is absent, in which case the session is left unmodified.
func (s *Session) Pop(key string, def ...any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	raw, ok := s.raw(key)
	if !ok {
		if len(def) > 0 {
			return def[0]
		}
		return nil
	}
	s.remove(key)
	s.settle()
	v, _ := decodeValue(raw)
	return v
}

// Delete removes key, Django's del request.session[key]. Deleting an
// absent key is a no-op that leaves the session unmodified. A session left
// empty is deleted from the store when the request ends (unless Flashes
// emptied it: see Flashes).
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if _, ok := s.raw(key); ok {
		s.remove(key)
		s.settle()
	}
}

// Has reports whether key is in the session.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	_, ok := s.raw(key)
	return ok
}

// Keys returns the session's keys, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.userKeys()
}

// Len returns the number of keys in the session.
func (s *Session) Len() int {
	return len(s.Keys())
}

// IsEmpty reports whether the session holds no keys and no flashes.
func (s *Session) IsEmpty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.empty()
}

// Incr adds delta to the integer stored under key (0 when absent) and
// returns the result as this request sees it. The store applies the
// increment itself when the session is saved, so concurrent requests never
// lose one. A key holding anything but integer text (3.0 and 1e3 are not:
// GetInt reads them as 0 too), or a result outside the int64 range, leaves
// the session unchanged, Incr returns 0 and the request fails through the
// error handler (500).
func (s *Session) Incr(key string, delta int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	defer s.settle()
	var cur int64
	if raw, ok := s.raw(key); ok {
		n, ok := decodeInt64(raw)
		if !ok {
			s.fail(wrapError(fmt.Sprintf("sessions: Incr of key %q", key), ErrNotInteger))
			return 0
		}
		cur = n
	}
	n, ok := addInt64(cur, delta)
	if !ok {
		s.fail(wrapError(fmt.Sprintf("sessions: Incr of key %q by %d overflows int64", key, delta), ErrNotInteger))
		return 0
	}
	s.change() // first, so that the flags below see the current overlay
	if c := s.pending[key]; c != nil {
		// The key's value derives from the stored one: a conflict replays
		// this increment on the newer value, so it travels as a Set.
		s.put(key, strconv.FormatInt(n, 10))
		c.steps = append(c.steps, addStep(key, delta))
		s.pending[key] = c
		return n
	}
	prev, isIncr := s.incr[key]
	_, isSet := s.local[key]
	_, isDeleted := s.deleted[key]
	s.put(key, strconv.FormatInt(n, 10))
	// A key set or deleted earlier in this request travels as a plain Set;
	// otherwise the store adds the delta to whatever it holds by then.
	if isIncr || !(isSet || isDeleted) {
		if s.incr == nil {
			s.incr = make(map[string]int64)
		}
		s.incr[key] = prev + delta
	}
	return n
}

// Clear drops every key, Django's clear(). A session left empty is deleted
// from the store, and its cookie expired, when the request ends.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.change()
	s.clearValues()
	s.settle()
}

// Flush logs the visitor out, Django's flush(): it drops every key, deletes
// the stored session at once and forgets its token and UUID, so the old
// token is dead whatever the response turns out to be (a 5xx, a panic).
// Anything set afterwards starts a new session with a new token. A failed
// delete fails the request through the error handler.
func (s *Session) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.flush(false) // a failure fails the session
	s.settle()
}

// flush is Flush's transition; strict is kill's. It returns the error of a
// failed delete. The caller holds s.mu.
func (s *Session) flush(strict bool) error {
	s.load()
	s.change()
	ended, err := s.kill(strict)
	if ended {
		s.emit(EventFlushed, s.rec.UUID, s.rec.Principal, nil)
	}
	s.local, s.incr, s.deleted, s.pending = nil, nil, nil, nil
	s.cycled = 0 // a new session follows, not this one's Login or CycleKey
	s.rec = Record{}
	s.expiry = 0
	return err
}

// CycleKey gives the session a new token and keeps its data, UUID and
// creation time, Django's cycle_key(). Call it at login to defeat session
// fixation. The old record is deleted at once, so the old token is dead
// whatever happens next; the data is saved under the new token when the
// request commits (a 5xx answer loses the session, which is the safe
// outcome). After the response headers were written no cookie can carry a
// new token: CycleKey then leaves the stored session as it was, saves
// nothing more of the request, and reports why in Err and c.Errors. When
// the old record is gone already (revoked, or logged out by another
// request, since this one loaded it), CycleKey does not bring it back:
// nothing more of the request is saved, and it fails with ErrInterrupted.
// So of concurrent requests that cycle one session, one gets the new
// token and the others ErrInterrupted: one UUID is one live session.
func (s *Session) CycleKey() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.cycle()
	s.settle()
}

// SetExpiry sets this session's own expiry, as Django's set_expiry does: a
// positive d ends the session after d without a save ("remember me" for d)
// with a persistent cookie; 0 makes the cookie end when the browser closes;
// a negative d returns to the middleware's settings.
func (s *Session) SetExpiry(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	switch {
	case d > 0:
		s.expiry = d
	case d == 0:
		s.expiry = -1
	default:
		s.expiry = 0
	}
	s.sendCookie = true
	s.change()
	s.settle()
}

// ExpiryAge returns how long the session lives after its next save: the
// duration given to SetExpiry, or the middleware's cookie age.
func (s *Session) ExpiryAge() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.mw.age(s.expiry)
}

// ExpiryDate returns when the server will forget the session if no further
// request changes it: the stored expiry for an unchanged session, the
// expiry the coming save will set otherwise.
func (s *Session) ExpiryDate() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.stored && !s.modified && !s.mw.saveEvery && s.mw.idle == 0 {
		return s.rec.Expires
	}
	now := s.mw.now()
	return s.mw.deadline(now, now, s.createdOr(now), s.expiry)
}

// ExpiresAtBrowserClose reports whether the session's cookie ends when the
// browser closes (it carries no Max-Age).
func (s *Session) ExpiresAtBrowserClose() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.mw.browserClose(s.expiry)
}

// Modified reports whether the request has changed the session.
func (s *Session) Modified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionData != nil && s.modified
}

// Accessed reports whether the request has read or changed the session.
func (s *Session) Accessed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase != unloaded
}

// AddFlash queues a one-time message, shown by the next request that calls
// Flashes. A value that cannot be encoded fails the request as Set does.
//
// Concurrent requests of the same session that each add a flash lose none:
// the flash is appended as Update appends to a list, so a request whose
// save finds the queue changed by another appends to the newer queue.
func (s *Session) AddFlash(value any) {
	enc, err := encodeValue(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	defer s.settle()
	if err != nil {
		s.fail(wrapError("sessions: cannot encode a flash", err))
		return
	}
	_ = s.derive(flashesKey, appendFlash(enc))
}

// Flashes returns the queued flash messages and removes them. With none
// queued it returns nil and leaves the session unmodified.
//
// The removal is conditional, as Update's change is: a flash that a
// concurrent request adds meanwhile stays queued for the next call, and
// only the flashes returned here are removed. For the same reason a
// session that holds nothing else is not deleted when its flashes are
// taken, as an emptied session is: it is saved empty, and expires as
// usual.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	raw, ok := s.raw(flashesKey)
	if !ok {
		return nil
	}
	_ = s.derive(flashesKey, consumeFlashes(raw))
	s.settle()
	return decodeFlashes(raw)
}

// peekFlashes returns the queued flash messages and leaves them queued.
func (s *Session) peekFlashes() []any {
	raw, ok := s.rawLoaded(flashesKey)
	if !ok {
		return nil
	}
	return decodeFlashes(raw)
}

// decodeFlashes decodes the stored list of flash messages.
func decodeFlashes(raw string) []any {
	v, _ := decodeValue(raw)
	list, _ := v.([]any)
	return list
}

// SetTestCookie stores Django's test value, to check on a later request
// that the browser keeps cookies.
func (s *Session) SetTestCookie() {
	s.Set(testCookieKey, testCookieValue)
}

// TestCookieWorked reports whether the value stored by SetTestCookie came
// back on this request.
func (s *Session) TestCookieWorked() bool {
	return s.GetString(testCookieKey) == testCookieValue
}

// DeleteTestCookie removes the value stored by SetTestCookie.
func (s *Session) DeleteTestCookie() {
	s.Delete(testCookieKey)
}

// Save writes the session's changes to the store now and reports any
// failure. It is optional: the middleware saves automatically before the
// response is written, and sends the cookie then; the commit checks that a
// session saved early was not deleted meanwhile (ErrInterrupted, 400).
//
// After the response headers were written, and after the request has
// finished, Save still saves a change to a session whose cookie the client
// holds, but a session that needs a new cookie (a new session, CycleKey)
// cannot get one: Save saves nothing, returns an error, and Err returns it
// from then on. Once the request has failed (Err is not nil, or the
// response is a 5xx) Save saves nothing and returns why. A failed Save
// sets Err at once.
func (s *Session) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.save()
}

// Err returns the first failure of the session in this request, loading it
// first if needed: the store could not load it (the handler then sees an
// empty session), a value could not be encoded, an Incr failed, a save
// (Save's included) failed, a change came too late for the cookie it
// needed, or CycleKey came after the headers. It is nil while all is well.
//
// Once Err is not nil nothing more of the request is saved, the error is
// recorded in c.Errors, and the error handler replaces the response unless
// the handler answers with a 5xx itself. A handler can check it to show its
// own error page:
//
//	if err := sessions.Default(c).Err(); err != nil {
//		c.String(http.StatusServiceUnavailable, "Please try again later.")
//		return
//	}
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.err
}

// snapshot returns a decoded copy of the user's values, for templates.
func (s *Session) snapshot() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	keys := s.userKeys()
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		raw, _ := s.raw(k)
		out[k], _ = decodeValue(raw)
	}
	return out
}

// rawLoaded loads the session if needed and returns the encoded value of
// key.
func (s *Session) rawLoaded(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.raw(key)
}

// raw returns the encoded value of key as the request sees it.
func (s *Session) raw(key string) (string, bool) {
	if v, ok := s.local[key]; ok {
		return v, true
	}
	if _, gone := s.deleted[key]; gone {
		return "", false
	}
	v, ok := s.rec.Values[key]
	return v, ok
}

// put records that key now holds enc.
func (s *Session) put(key, enc string) {
	s.change()
	if s.local == nil {
		s.local = make(map[string]string)
	}
	s.local[key] = enc
	delete(s.deleted, key)
	delete(s.incr, key)
	delete(s.pending, key) // a plain Set does not depend on the stored value
}

// remove records that key is gone.
func (s *Session) remove(key string) {
	s.change()
	delete(s.local, key)
	delete(s.incr, key)
	delete(s.pending, key)
	if _, stored := s.rec.Values[key]; stored {
		if s.deleted == nil {
			s.deleted = make(map[string]struct{})
		}
		s.deleted[key] = struct{}{}
	}
}

// clearValues removes every key, flashes included.
func (s *Session) clearValues() {
	for k := range s.local {
		delete(s.local, k)
	}
	clear(s.incr)
	clear(s.pending)
	for k := range s.rec.Values {
		if s.deleted == nil {
			s.deleted = make(map[string]struct{})
		}
		s.deleted[k] = struct{}{}
	}
}

// merged returns every value as the request sees it, reserved keys
// included. With nothing stored yet, that is the overlay itself.
func (s *Session) merged() map[string]string {
	if len(s.rec.Values) == 0 {
		return s.local
	}
	out := make(map[string]string, len(s.rec.Values)+len(s.local))
	for k, v := range s.rec.Values {
		if _, gone := s.deleted[k]; !gone {
			out[k] = v
		}
	}
	for k, v := range s.local {
		out[k] = v
	}
	return out
}

// userKeys returns the sorted keys, without reserved ones.
func (s *Session) userKeys() []string {
	keys := make([]string, 0, len(s.rec.Values)+len(s.local))
	for k := range s.rec.Values {
		if _, gone := s.deleted[k]; !gone && !strings.HasPrefix(k, reservedPrefix) {
			if _, dup := s.local[k]; !dup {
				keys = append(keys, k)
			}
		}
	}
	for k := range s.local {
		if !strings.HasPrefix(k, reservedPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// empty reports whether no key, reserved or not, remains and the session
// is not bound to a user.
func (s *Session) empty() bool {
	if len(s.local) > 0 || s.rec.Principal != "" {
		return false
	}
	for k := range s.rec.Values {
		if _, gone := s.deleted[k]; !gone {
			return false
		}
	}
	return true
}

// createdOr returns the session's creation time, or now for a new one.
func (s *Session) createdOr(now time.Time) time.Time {
	if s.rec.Created.IsZero() {
		return now
	}
	return s.rec.Created
}
