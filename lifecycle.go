package sessions

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// The lifecycle of a request's session: the one place that decides what is
// saved, when, and what a failure does. Every public method of Session and
// every way a request ends is one of the transitions below.
//
// A session is in one of four phases, and the response's headers have gone
// or not ("sent"):
//
//	unloaded  nothing used yet: no store call, no cookie
//	clean     loaded (or empty); the store holds what the request sees
//	changed   changes not saved yet
//	failed    the request failed: nothing more of it is ever saved
//
// Transitions ("now" is a store call made at once, not at the commit):
//
//	event                        before the headers             after the headers
//	---------------------------  -----------------------------  ------------------------------
//	first use (any method)       unloaded → clean: one Load;    same
//	                             a load error → failed
//	read                         no change                      no change
//	a value that cannot be       → failed (500 at the commit)   → failed
//	 encoded, Incr of a non-
//	 integer or past int64
//	change (Set, Incr, ...)      clean → changed                clean → changed, saved at the
//	                                                            end if it needs no new cookie
//	Flush                        now: Delete the old record;    same: the old token is dead,
//	                             → changed (a new session       though its cookie cannot be
//	                             starts if values follow)       expired any more
//	CycleKey                     now: Delete the old record;    → failed (no new cookie can
//	                             → changed, saved under a new   reach the client); the old
//	                             token at the commit            session is left as it was
//	Save()                       changed → clean (one Save);    changed → clean when the token
//	                             a store error → failed         is the client's; a session
//	                                                            that needs a new cookie: an
//	                                                            error, nothing changes
//	commit (first byte, Hijack,  changed → clean, cookie set;   (runs once)
//	 UpgradeHeader, end of the   clean after Save(): the save
//	 chain)                      is checked (400 if deleted
//	                             meanwhile); clean: Touch for
//	                             WithIdleTimeout; failed: the
//	                             error handler answers
//	answer 5xx                   → failed at the commit         → failed at the end
//	store error at the commit    → failed; the error handler    —
//	                             replaces the response
//	panic (gin.Recovery)         → failed                       → failed
//	HandleContext                the inner run shares the session: the first commit wins
//	end of the chain             commit if not yet              changed → saved when the token
//	                                                            is the client's; otherwise the
//	                                                            change is reported in c.Errors
//	any state, failed            Save() and the late changes return or report why nothing
//	                             was saved; s.Err() has the first error, c.Errors has it too
//
// The deletions by Flush and CycleKey happen when they are called, as in
// Django, so a token they kill is dead whatever the response turns out to be.
type phase uint8

const (
	unloaded phase = iota
	clean
	changed
	failed
)

// answer says who writes the response.
type answer uint8

const (
	answerHandler      answer = iota // the handler's response goes out
	answerErrorHandler               // the error handler is writing its own
	answerReplaced                   // the error handler answered; the handler's writes are dropped
)

// Errors that explain why a change was not saved. They reach the handler
// through Save and c.Errors.
var (
	errServerError = errors.New("sessions: the response is a server error (5xx); nothing of this request is saved")
	errPanicked    = errors.New("sessions: the handler panicked; nothing of this request is saved")
	errNeedsCookie = errors.New("sessions: the session was changed after the response headers were written and needs a new cookie; the change was not saved")
	errCycleLate   = errors.New("sessions: CycleKey after the response headers were written: no cookie can carry the new token; the request's changes are not saved")
)

// load reads the session from the store on first use. Any token that is
// malformed, unknown or expired yields a new empty session; it is never
// adopted as a key. The caller holds s.mu.
func (s *Session) load() {
	if s.phase != unloaded {
		return
	}
	s.phase = clean
	s.sessionData = &sessionData{}
	token, fromCookie := s.mw.readToken(s.gin.Request)
	s.hadCookie = fromCookie
	if !validToken(token) {
		return
	}
	id := storeID(token)
	rec, found, err := s.mw.store.Load(s.ctx, id)
	if err != nil {
		// Flush and CycleKey still try to kill the offered token.
		s.id = id
		s.fail(err)
		return
	}
	if !found || !s.mw.alive(rec, s.mw.now()) {
		return
	}
	s.token, s.id, s.rec, s.stored = token, id, rec, true
	s.expiry = rec.Expiry
}

// change notes a change, first folding an already saved overlay into the
// base so that only new changes travel in the next save.
func (s *Session) change() {
	if s.sent {
		s.late = true
	}
	if s.persisted {
		s.rec.Values = s.merged()
		s.local, s.incr, s.deleted = nil, nil, nil
		s.persisted = false
	}
	s.modified = true
	if s.phase != failed {
		s.phase = changed
	}
}

// fail moves the session to failed, keeping the first error; err is nil
// for a failure that is not the session's (a 5xx answer).
func (s *Session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.phase = failed
}

// kill deletes the record the request's token points to, now, and forgets
// the token: Flush and CycleKey. The data stays in memory. It reports
// whether a stored session was deleted.
func (s *Session) kill() (deleted bool) {
	if s.id != "" {
		if err := s.mw.store.Delete(s.ctx, s.id); err != nil {
			s.fail(err)
		} else {
			deleted = s.stored
		}
	}
	s.stored, s.token, s.id = false, "", ""
	s.issued, s.sendCookie = false, false
	return deleted
}

// cycle is CycleKey's transition.
func (s *Session) cycle() {
	if s.sent {
		s.fail(errCycleLate)
		return
	}
	s.change()
	s.kill()
	s.cycled = true
}

// save is Save's transition.
func (s *Session) save() error {
	switch {
	case s.phase == unloaded:
		return nil
	case s.phase == failed:
		return s.failure()
	case s.sent && s.phase == changed && !s.stored && !s.empty():
		return errNeedsCookie
	}
	if err := s.persist(false); err != nil {
		s.fail(err)
		return err
	}
	if !s.sent {
		s.savedEarly = true
	}
	return nil
}

// failure is what Save reports once the session has failed.
func (s *Session) failure() error {
	if s.err != nil {
		return s.err
	}
	return errServerError
}

// commit is the transition at the headers: it saves the session and sets
// the cookie in h. It runs once. A non-nil error means the handler's
// response must be replaced by the error handler's. The caller holds s.mu.
func (s *Session) commit(h http.Header, status int) error {
	if s.sent {
		return nil
	}
	s.sent = true
	m := s.mw
	if s.phase == unloaded {
		// Only a save on every request needs a session the handler never
		// touched: without one, the Cookie header is not even read.
		if !m.saveEvery {
			return nil
		}
		if token, _ := m.readToken(s.gin.Request); !validToken(token) {
			return nil
		}
		s.load()
	}
	s.addVary(h)
	if status >= http.StatusInternalServerError {
		// Django saves nothing for a failed response.
		s.fail(nil)
		return nil
	}
	if s.phase == failed {
		return s.err
	}
	if err := s.persist(true); err != nil {
		s.fail(err)
		return err
	}
	s.writeToken(h)
	return nil
}

// finish is the transition at the end of the chain, after the commit: it
// saves what changed after the headers when that needs no new cookie, and
// reports in c.Errors whatever could not be saved.
func (s *Session) finish(c *gin.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != unloaded && s.late {
		s.late = false
		if s.phase != failed && c.Writer.Status() >= http.StatusInternalServerError {
			s.fail(nil)
		}
		switch {
		case s.phase == failed:
			_ = c.Error(fmt.Errorf("sessions: a change after the response headers was not saved: %w", s.failure()))
		case s.phase == changed && !s.stored && !s.empty():
			_ = c.Error(errNeedsCookie)
		default:
			if err := s.persist(false); err != nil {
				s.fail(err)
			}
		}
	}
	s.report(c)
}

// abandon is the transition of a handler that panicked: nothing more is
// saved, and gin.Recovery's 500 goes out without a cookie.
func (s *Session) abandon(c *gin.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != unloaded {
		s.fail(errPanicked)
		s.report(c)
	}
}

// report puts the session's error in c.Errors, once: not when the handler
// recorded it there itself (from Save, say).
func (s *Session) report(c *gin.Context) {
	if s.sessionData == nil || s.err == nil || s.reported {
		return
	}
	s.reported = true
	for _, e := range c.Errors {
		if errors.Is(e.Err, s.err) {
			return
		}
	}
	_ = c.Error(s.err)
}

// UpgradeHeader commits the request's sessions now, as the first byte of a
// response would, and returns the headers that carry them (Set-Cookie, Vary
// and the WithHeader token), for a handler that writes its own response on
// a hijacked connection. WebSocket upgraders write their own 101 response
// and ignore c.Writer's headers, so pass these to them:
//
//	h, err := sessions.UpgradeHeader(c)
//	if err != nil {
//		return // the error handler has answered
//	}
//	conn, err := upgrader.Upgrade(c.Writer, c.Request, h)
//
// When a save fails, the error handler answers the request and
// UpgradeHeader returns the error; do not upgrade then. Changes made after
// it are saved by Save or when the handler returns, since the client holds
// the cookie by then. On a route without the session middleware it returns
// an empty header.
func UpgradeHeader(c *gin.Context) (http.Header, error) {
	names := []string{"Set-Cookie", "Vary"}
	var err error
	for sw := range sessionWriters(c.Writer) {
		if sw.commit() {
			sw.s.mu.Lock()
			err = sw.s.failure()
			sw.s.mu.Unlock()
			return nil, err
		}
		if sw.s.mw.header != "" {
			names = append(names, sw.s.mw.header)
		}
	}
	h := http.Header{}
	for _, name := range names {
		if v := c.Writer.Header().Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = slices.Clone(v)
		}
	}
	return h, nil
}

// persist applies the session's pending changes to the store. With commit
// set it also slides the expiry (WithSaveEveryRequest), refreshes the idle
// timeout, or checks that a session saved earlier in the request is still
// there. The caller holds s.mu.
func (s *Session) persist(commit bool) error {
	m := s.mw
	if s.empty() {
		return s.discard()
	}
	if s.phase != changed && !(commit && m.saveEvery && s.stored) {
		switch {
		case !commit || !s.stored:
		case s.savedEarly && (s.issued || s.sendCookie):
			return s.verify()
		case m.idle > 0 && !s.touched:
			return s.touch()
		}
		return nil
	}
	now := m.now()
	ch := Change{Saved: now, Expiry: s.expiry, UUID: s.rec.UUID, Created: s.rec.Created}
	id, token := s.id, s.token
	var started EventKind
	if m.hooks.Event != nil {
		started = s.startedKind() // before capUserSessions forgets the login
	}
	if !s.stored {
		var err error
		if token, err = s.issueToken(); err != nil {
			return err
		}
		id = storeID(token)
		ch.New = true
		ch.Set = s.merged()
		if ch.UUID == "" {
			ch.UUID = uuid.NewString()
		}
		ch.Created = s.createdOr(now)
	} else {
		ch.Set, ch.Incr, ch.Delete = s.delta()
	}
	ch.Expires = m.deadline(now, now, ch.Created, s.expiry)
	s.bindChange(&ch)
	if err := m.store.Save(s.ctx, id, ch); err != nil {
		return err
	}
	if err := s.capUserSessions(ch.UUID); err != nil {
		return err
	}
	if ch.New && m.hooks.Event != nil {
		s.emitStarted(started, ch.UUID, ch.Principal)
	}
	s.cycled = false
	if ch.New {
		s.rec.Values = ch.Set
		s.local, s.incr, s.deleted = nil, nil, nil
		s.issued, s.sendCookie = true, true
	} else {
		s.persisted = true
	}
	s.token, s.id, s.stored = token, id, true
	s.rec.UUID, s.rec.Created, s.rec.Saved, s.rec.LastSeen, s.rec.Expires, s.rec.Expiry = ch.UUID, ch.Created, now, now, ch.Expires, s.expiry
	s.phase, s.late, s.expireCookie = clean, false, false
	if !m.browserClose(s.expiry) {
		// A persistent cookie's Max-Age restarts with every save.
		s.sendCookie = true
	}
	return nil
}

// verify checks, with an empty update, that the record an earlier Save
// wrote is still there before its cookie goes out: a concurrent logout
// meanwhile makes it fail with ErrInterrupted rather than send a dead token.
func (s *Session) verify() error {
	m := s.mw
	now := m.now()
	ch := Change{Saved: now, Expiry: s.expiry, Expires: m.deadline(now, now, s.rec.Created, s.expiry)}
	if err := m.store.Save(s.ctx, s.id, ch); err != nil {
		return err
	}
	s.rec.Saved, s.rec.LastSeen, s.rec.Expires = now, now, ch.Expires
	return nil
}

// discard deletes an emptied session from the store and, when the client
// holds a cookie, arranges for it to be expired.
func (s *Session) discard() error {
	if s.stored {
		if err := s.mw.store.Delete(s.ctx, s.id); err != nil {
			return err
		}
		s.emit(EventFlushed, s.rec.UUID, s.rec.Principal, nil)
	}
	s.stored, s.token, s.id = false, "", ""
	s.local, s.incr, s.deleted = nil, nil, nil
	s.rec.Values = nil
	s.issued, s.sendCookie = false, false
	s.phase, s.late = clean, false
	s.expireCookie = s.hadCookie
	return nil
}

// touch refreshes the idle timeout without rewriting the data.
func (s *Session) touch() error {
	m := s.mw
	now := m.now()
	expires := m.deadline(now, s.rec.Saved, s.rec.Created, s.expiry)
	if err := m.store.Touch(s.ctx, s.id, now, expires); err != nil {
		return err
	}
	s.touched = true
	s.rec.Expires, s.rec.LastSeen = expires, now
	return nil
}

// addVary marks the response as depending on the session's carriers. The
// Vary value is the response's own, kept in the session, so that a handler
// that edits it in place changes no other response.
func (s *Session) addVary(h http.Header) {
	if _, ok := h["Vary"]; !ok {
		s.vary[0] = "Cookie"
		h["Vary"] = s.vary[:1:1]
	} else {
		addVary(h, "Cookie")
	}
	if s.mw.header != "" {
		addVary(h, s.mw.header)
	}
}

// writeToken sets or expires the cookie (and the header) as the commit
// decided.
func (s *Session) writeToken(h http.Header) {
	m := s.mw
	switch {
	case s.stored && s.sendCookie:
		if m.browserClose(s.expiry) {
			h.Add("Set-Cookie", m.cookieHead+s.token+m.cookieAttrs+m.cookieTail)
			break
		}
		age := m.age(s.expiry)
		h.Add("Set-Cookie", m.cookieHead+s.token+m.cookieAttrs+
			"; Expires="+m.now().Add(age).UTC().Format(http.TimeFormat)+
			"; Max-Age="+strconv.FormatInt(int64(age/time.Second), 10)+m.cookieTail)
	case !s.stored && s.expireCookie:
		h.Add("Set-Cookie", m.cookieHead+m.cookieAttrs+"; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"+m.cookieTail)
	}
	if s.issued && s.stored && m.header != "" {
		h.Set(m.header, s.token)
	}
}

// delta returns the pending changes of a stored session.
func (s *Session) delta() (set map[string]string, incr map[string]int64, del []string) {
	switch {
	case len(s.incr) == 0:
		set = s.local // stores keep no reference to ch's maps: no copy needed
	case len(s.local) > len(s.incr):
		// Every incremented key also holds its new value in s.local.
		set = make(map[string]string, len(s.local)-len(s.incr))
		for k, v := range s.local {
			if _, ok := s.incr[k]; !ok {
				set[k] = v
			}
		}
	}
	if len(s.incr) > 0 {
		incr = s.incr
	}
	for k := range s.deleted {
		del = append(del, k)
	}
	return set, incr, del
}
