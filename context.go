package sessions

import (
	"context"
	"fmt"
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
func Default(c *gin.Context) *Session {
	v, ok := c.Get(ContextKey)
	if !ok {
		panic("sessions: no session in the gin.Context under key " + strconv.Quote(ContextKey) +
			": install r.Use(sessions.Middleware(store)) before this handler")
	}
	s, ok := v.(*Session)
	if !ok {
		panic(fmt.Sprintf("sessions: the gin.Context key %q holds a %T, not a *sessions.Session", ContextKey, v))
	}
	return s
}

// FromContext returns the request's session from a context.Context: the
// request context that net/http handlers mounted with gin.WrapH receive, or
// the gin.Context itself. It reports false when there is none.
func FromContext(ctx context.Context) (*Session, bool) {
	if ctx == nil {
		return nil, false
	}
	if s, ok := ctx.Value(ctxKey(ContextKey)).(*Session); ok {
		return s, true
	}
	s, ok := ctx.Value(ContextKey).(*Session)
	return s, ok
}

// ctxKey is the type of the request-context key that carries the session.
type ctxKey string

// Session is one visitor's data, Django's request.session. Get one with
// Default or FromContext. It loads from the store on first use, so a
// request that never touches it costs no store call, and the middleware
// saves it automatically just before the response headers are written.
//
// A Session is safe for use by several goroutines during its request. It
// must not be used once the request has finished.
type Session struct {
	mu  sync.Mutex
	mw  *middleware
	ctx context.Context // the request's, before the middleware's
	gin *gin.Context    // the request, c.ClientIP() at Login, c.Errors

	// The lifecycle: see lifecycle.go.
	phase    phase
	sent     bool   // the commit ran: the response headers are gone
	late     bool   // changed after the headers, not saved yet
	answer   answer // who writes the response
	reported bool   // err is in c.Errors

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

	expiry time.Duration // the session's policy, as Record.Expiry
	err    error         // the first failure; Err returns it
	vary   [1]string     // the response's own Vary value

	// Flags last, packed together.
	hadCookie bool // the request carried our cookie, valid or not
	stored    bool // a live record is under token: loaded, or saved by this request
	modified  bool // changed during this request (Django's modified)
	login     bool // Login: apply WithMaxSessionsPerUser after the save
	cycled    bool // CycleKey: the next new record is the same session's

	// Commit state.
	persisted    bool // the overlay holds nothing that is not saved
	issued       bool // a new token was saved and must reach the client
	sendCookie   bool // the cookie must be (re)sent: new token or new expiry
	expireCookie bool // the session was deleted and the client holds a cookie
	touched      bool // the idle timeout was refreshed this request
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
// handler when the session is committed.
func (s *Session) Set(key string, value any) {
	enc, err := encodeValue(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err != nil {
		s.fail(fmt.Errorf("sessions: cannot encode the value of key %q: %w", key, err))
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
	v, _ := decodeValue(raw)
	return v
}

// Delete removes key, Django's del request.session[key]. Deleting an
// absent key is a no-op that leaves the session unmodified. A session left
// empty is deleted from the store when the request ends.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if _, ok := s.raw(key); ok {
		s.remove(key)
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
	var cur int64
	if raw, ok := s.raw(key); ok {
		n, ok := decodeInt64(raw)
		if !ok {
			s.fail(fmt.Errorf("sessions: Incr of key %q: %w", key, ErrNotInteger))
			return 0
		}
		cur = n
	}
	n, ok := addInt64(cur, delta)
	if !ok {
		s.fail(fmt.Errorf("sessions: Incr of key %q by %d overflows int64: %w", key, delta, ErrNotInteger))
		return 0
	}
	s.change() // first, so that the flags below see the current overlay
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
}

// Flush logs the visitor out, Django's flush(): it drops every key, deletes
// the stored session at once and forgets its token and UUID, so the old
// token is dead whatever the response turns out to be (a 5xx, a panic).
// Anything set afterwards starts a new session with a new token. A failed
// delete fails the request through the error handler.
func (s *Session) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.change()
	if s.kill() {
		s.emit(EventFlushed, s.rec.UUID, s.rec.Principal, nil)
	}
	s.local, s.incr, s.deleted = nil, nil, nil
	s.rec = Record{}
	s.expiry = 0
}

// CycleKey gives the session a new token and keeps its data, UUID and
// creation time, Django's cycle_key(). Call it at login to defeat session
// fixation. The old record is deleted at once, so the old token is dead
// whatever happens next; the data is saved under the new token when the
// request commits (a 5xx answer loses the session, which is the safe
// outcome). After the response headers were written no cookie can carry a
// new token: CycleKey then leaves the stored session as it was, saves
// nothing more of the request, and reports why in Err and c.Errors.
func (s *Session) CycleKey() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.cycle()
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
func (s *Session) AddFlash(value any) {
	enc, err := encodeValue(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err != nil {
		s.fail(fmt.Errorf("sessions: cannot encode a flash: %w", err))
		return
	}
	list := "[" + enc + "]"
	if raw, ok := s.raw(flashesKey); ok && len(raw) > 2 {
		list = raw[:len(raw)-1] + "," + enc + "]"
	}
	s.put(flashesKey, list)
}

// Flashes returns the queued flash messages and removes them. With none
// queued it returns nil and leaves the session unmodified.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	raw, ok := s.raw(flashesKey)
	if !ok {
		return nil
	}
	s.remove(flashesKey)
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
// After the response headers were written, Save still saves a change to a
// session whose cookie the client holds, but a session that needs a new
// cookie (a new session, CycleKey) cannot get one: Save returns an error
// and changes nothing. Once the request has failed (Err is not nil, or the
// response is a 5xx) Save saves nothing and returns why.
func (s *Session) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.save()
}

// Err returns the first failure of the session in this request, loading it
// first if needed: the store could not load it (the handler then sees an
// empty session), a value could not be encoded, an Incr failed, a save
// failed, or CycleKey came after the headers. It is nil while all is well.
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
}

// remove records that key is gone.
func (s *Session) remove(key string) {
	s.change()
	delete(s.local, key)
	delete(s.incr, key)
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
