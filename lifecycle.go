package sessions

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
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
//	 encoded (a channel, a
//	 struct JSON would write
//	 as {}), Incr of a non-
//	 integer or past int64
//	change (Set, Incr, ...)      clean → changed                clean → changed, saved at the
//	                                                            end if it needs no new cookie
//	Flush                        now: Delete the old record;    same: the old token is dead,
//	                             → changed (a new session       though its cookie cannot be
//	                             starts if values follow)       expired any more
//	CycleKey                     now: Delete the old record;    → failed (no new cookie can
//	                             → changed, saved under a new   reach the client); the old
//	                             token at the commit; a record  session is left as it was
//	                             found gone (revoked meanwhile)
//	                             → failed (ErrInterrupted, 400)
//	Update, AddFlash, Flashes    clean → changed; the save of   same
//	                             that key expects the stored
//	                             value (see below)
//	Save()                       changed → clean (one Save);    changed → clean when the token
//	                             a store error → failed         is the client's; a session
//	                                                            that needs a new cookie:
//	                                                            → failed, the error returned
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
//	                                                            is the client's; otherwise
//	                                                            → failed, reported in c.Errors;
//	                                                            then the request has ended
//	any state, failed            Save() and the late changes return or report why nothing
//	                             was saved; s.Err() has the first error, c.Errors has it too
//
// After the request has ended (a goroutine that outlived the handler holds
// the session), there is no commit and no c.Errors any more: gin may be
// serving another request with the same *gin.Context. So:
//
//	event                        after the request
//	---------------------------  ----------------------------------------------------
//	first use                    one Load, with the token of the request the
//	                             middleware was given, never gin's reused Context
//	change                       saved now, as at the end of the chain: when the
//	                             token is the client's; otherwise → failed
//	a change that is not saved   s.Err() and Save() say why; one Warn record through
//	 (failed, a new cookie       the middleware's logger (WithLogger)
//	 needed, a store error)
//	store calls                  the request's context without its cancellation
//	Login, CycleKey              → failed: no cookie can carry a new token
//
// The deletions by Flush and CycleKey happen when they are called, as in
// Django, so a token they kill is dead whatever the response turns out to be.
//
// A save that carries keys computed from their stored value (Update,
// AddFlash, Flashes) is conditional on the store still holding that value.
// When it does not, every save above (Save(), the commit, the end of the
// chain) re-reads the record, computes those keys again from the newer
// values and saves again, up to five saves in all, before it returns; past
// that the session fails with ErrConflict (409 at the commit) and the
// request's change is not saved. A session that Flashes empties is saved
// empty on that condition rather than deleted.
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
	errRevoked     = wrapError("sessions: the session was revoked or logged out by another request while this one held it; it is not saved under a new token", ErrInterrupted)
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
	token, _ := s.mw.readToken(s.request())
	if !validToken(token) {
		return
	}
	id := storeID(token)
	rec, found, err := s.mw.store.Load(s.storeCtx(), id)
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
// for a failure that is not the session's (a 5xx answer). After the
// request, the failure is a change that was not saved, which settle
// reports.
func (s *Session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.phase = failed
	if s.ended {
		s.late = true
	}
}

// kill deletes the record the request's token points to, now, and forgets
// the token: Flush and CycleKey. The data stays in memory. A failed delete
// fails the session, and is returned. With strict set (CycleKey, Login),
// the session goes on under a new token: a stored record that the delete
// did not find was revoked or logged out by another request meanwhile (or
// replaced by a concurrent login from the same cookie), and the request
// fails with errRevoked rather than bring it back. ended reports that the
// delete ended a stored session: it found the record, so that no other
// request's revocation or logout ended it first.
func (s *Session) kill(strict bool) (ended bool, err error) {
	if s.id != "" {
		var found bool
		found, err = s.mw.store.Delete(s.storeCtx(), s.id)
		switch {
		case err != nil:
			s.fail(err)
		case strict && s.stored && !found:
			err = errRevoked
			s.fail(err)
		default:
			ended = s.stored && found
		}
	}
	s.stored, s.token, s.id = false, "", ""
	s.issued, s.sendCookie = false, false
	// The data will be saved as a new record, which no other request
	// holds: it needs no condition.
	s.pending = nil
	return ended, err
}

// cycle is CycleKey's transition.
func (s *Session) cycle() {
	if s.sent {
		s.fail(errCycleLate)
		return
	}
	s.change()
	if _, err := s.kill(true); err == nil { // a failure fails the session
		s.cycled = EventCycled
	}
}

// save is Save's transition.
func (s *Session) save() error {
	switch {
	case s.phase == unloaded:
		return nil
	case s.phase == failed:
		return s.failure()
	case s.sent && s.phase == changed && !s.stored && !s.empty():
		s.fail(errNeedsCookie)
		s.late = false // reported to the caller, who holds the error
		return errNeedsCookie
	}
	if err := s.persist(false); err != nil {
		s.fail(err)
		s.late = false
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
		if token, _ := m.readToken(s.request()); !validToken(token) {
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
// reports in c.Errors whatever could not be saved. The request has ended
// then: gin may hand c to another request, so the session lets go of it.
func (s *Session) finish(c *gin.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != unloaded && s.late {
		if s.phase != failed && c.Writer.Status() >= http.StatusInternalServerError {
			s.fail(nil)
		}
		if err := s.saveLate(); err != nil {
			_ = c.Error(err)
		}
	}
	s.report(c)
	s.end()
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
	s.end()
}

// end marks the request as finished. From then on the session reads the
// token from the request it was given, not from gin's reused Context, and
// its store calls outlive the request's cancelled context.
func (s *Session) end() {
	s.ended, s.sent, s.late, s.gin = true, true, false, nil
}

// saveLate saves the changes made after the headers, when they need no new
// cookie, and returns why they were not saved otherwise.
func (s *Session) saveLate() error {
	if !s.late {
		return nil
	}
	s.late = false
	switch {
	case s.phase == failed:
		what := "sessions: a change after the response headers was not saved"
		if s.ended {
			what = "sessions: a change after the request had finished was not saved"
		}
		return wrapError(what, s.failure())
	case s.phase == changed && !s.stored && !s.empty():
		s.fail(errNeedsCookie)
		s.late = false
		return errNeedsCookie
	}
	if err := s.persist(false); err != nil {
		s.fail(err)
		s.late = false
		return err
	}
	return nil
}

// settle ends every method that changes the session. Once the request has
// ended no commit follows, so the change is saved now, or, when it cannot
// be, logged: no handler is left to see Err or c.Errors. The caller holds
// s.mu.
func (s *Session) settle() {
	if !s.ended {
		return
	}
	if err := s.saveLate(); err != nil {
		s.warn(err)
	}
}

// warn reports a change made after the request that was not saved.
func (s *Session) warn(err error) {
	logger := s.mw.log()
	if logger == nil {
		return
	}
	logger.WarnContext(s.storeCtx(), "sessions: a session was changed after its request had finished, and the change was not saved",
		"uuid", s.rec.UUID, "error", err)
}

// request is the request the session belongs to: gin's, while the request
// runs, since a handler may replace it; the one the middleware was given,
// once gin may have reused its Context for another request.
func (s *Session) request() *http.Request {
	if s.gin != nil {
		return s.gin.Request
	}
	return s.req
}

// storeCtx is the context of the session's store calls: the request's,
// and once the request has ended, and its context is cancelled, one that
// keeps its values without its cancellation, so that a goroutine that
// outlives the request can still save. The caller holds s.mu.
func (s *Session) storeCtx() context.Context {
	if s.ended {
		return context.WithoutCancel(s.req.Context())
	}
	return s.req.Context()
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
	if s.empty() && len(s.pending) == 0 {
		// Not when Flashes emptied it: deleting the record could drop a
		// flash a concurrent request added; it is saved empty instead.
		return s.discard()
	}
	if s.phase != changed && !(commit && m.saveEvery && s.stored) {
		switch {
		case !commit || !s.stored:
		case s.savedEarly && (s.issued || s.sendCookie):
			return s.verify()
		case m.idle > 0:
			return s.touch() // once: the commit runs once
		}
		return nil
	}
	now := m.now()
	ch := Change{Saved: now, Expiry: s.expiry, UUID: s.rec.UUID, Created: s.rec.Created}
	id, token := s.id, s.token
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
	if ch.New && s.cycled == EventLoggedIn && ch.Principal != "" {
		// The cap is part of the login's save: see UserStore.
		ch.MaxUserSessions = m.maxPerUser
	}
	if !ch.New {
		ch.Expect = s.expectations()
	}
	if err := s.saveChange(id, &ch); err != nil {
		return err
	}
	if ch.New && m.hooks.Event != nil {
		s.emitStarted(s.startedKind(), ch.UUID, ch.Principal)
	}
	s.cycled = 0
	if ch.New {
		s.rec.Values = ch.Set
		s.local, s.incr, s.deleted = nil, nil, nil
		s.issued, s.sendCookie = true, true
	} else {
		s.persisted = true
	}
	s.pending = nil
	s.token, s.id, s.stored = token, id, true
	s.rec.UUID, s.rec.Created, s.rec.Saved, s.rec.LastSeen, s.rec.Expires, s.rec.Expiry = ch.UUID, ch.Created, now, now, ch.Expires, s.expiry
	s.phase, s.late, s.expireCookie = clean, false, false
	if !m.browserClose(s.expiry) {
		// A persistent cookie's Max-Age restarts with every save.
		s.sendCookie = true
	}
	return nil
}

// saveChange saves ch under id. A conditional save that conflicts is
// tried again on the newer values (see rebase), up to updateAttempts
// saves in all: a retry costs one Load and one Save, and a save with no
// condition is never retried.
//
// Retries wait a random time first (see backOff), so that requests of
// several processes that conflicted do not meet again at once; in this
// process, the retries of one session also take turns, each holding a
// lock for its Load and Save, so that they cannot conflict with each
// other, only with first saves. The first save takes no lock: without a
// conflict nothing is added.
func (s *Session) saveChange(id string, ch *Change) error {
	var start time.Time
	if len(ch.Expect) > 0 { // the clock is for backOff, after a conflict
		start = time.Now()
	}
	err := s.mw.store.Save(s.storeCtx(), id, *ch)
	for try := 1; len(ch.Expect) > 0 && errors.Is(err, ErrConflict); try++ {
		if try == updateAttempts {
			return wrapError(fmt.Sprintf("sessions: %d saves in a row found an updated key changed by a concurrent request", try), err)
		}
		if err := backOff(s.storeCtx(), try, time.Since(start)); err != nil {
			return err
		}
		start = time.Now()
		err = s.retry(id, ch)
	}
	return err
}

// retry re-reads the session and saves ch again on the newer values,
// taking its turn among the retries of sessions that share id's lock.
func (s *Session) retry(id string, ch *Change) error {
	turn := &s.mw.turns[maphash.String(turnSeed, id)%uint64(len(s.mw.turns))]
	turn.Lock()
	defer turn.Unlock()
	if err := s.rebase(); err != nil {
		return err
	}
	ch.Set, ch.Incr, ch.Delete = s.delta()
	ch.Expect = s.expectations()
	return s.mw.store.Save(s.storeCtx(), id, *ch)
}

// turnSeed spreads session ids over the middleware's turns.
var turnSeed = maphash.MakeSeed()

// backOff waits before the try'th retry of a conflicting save, for a
// random time below 4^try times the last attempt, which took spent, or
// below 4^try times minBackOff if that is longer: the requests that
// conflicted would otherwise all retry at once and conflict again. Scaled
// to the store's own latency, the waits spread them over several
// attempts' time on any store (1, 4, 16 and 64 ms on a fast one), and cost
// nothing without a conflict. It gives up when ctx ends.
func backOff(ctx context.Context, try int, spent time.Duration) error {
	limit := min(max(spent, minBackOff)<<(2*try), maxBackOff)
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting to save again after a conflict: %w", ErrUnavailable, ctx.Err())
	}
}

// minBackOff and maxBackOff bound backOff's waits: a store faster than
// the requests that race on it (memory) still spreads them over a few
// milliseconds, and a slow one does not hold a request for long.
const (
	minBackOff = 250 * time.Microsecond
	maxBackOff = 100 * time.Millisecond
)

// verify checks, with an empty update, that the record an earlier Save
// wrote is still there before its cookie goes out: a concurrent logout
// meanwhile makes it fail with ErrInterrupted rather than send a dead token.
func (s *Session) verify() error {
	m := s.mw
	now := m.now()
	ch := Change{Saved: now, Expiry: s.expiry, Expires: m.deadline(now, now, s.rec.Created, s.expiry)}
	// Like every save of a bound session, it names the user, so that a
	// store keeps the user's index alive as long as the record.
	ch.Principal = s.rec.Principal
	if err := m.store.Save(s.storeCtx(), s.id, ch); err != nil {
		return err
	}
	s.rec.Saved, s.rec.LastSeen, s.rec.Expires = now, now, ch.Expires
	return nil
}

// discard deletes an emptied session from the store and, when the client
// holds a cookie, arranges for it to be expired.
func (s *Session) discard() error {
	if s.stored {
		found, err := s.mw.store.Delete(s.storeCtx(), s.id)
		if err != nil {
			return err
		}
		if found { // else a revocation or logout ended it first, and said so
			s.emit(EventFlushed, s.rec.UUID, s.rec.Principal, nil)
		}
	}
	s.stored, s.token, s.id = false, "", ""
	s.local, s.incr, s.deleted, s.pending = nil, nil, nil, nil
	s.rec.Values = nil
	s.issued, s.sendCookie = false, false
	s.phase, s.late = clean, false
	// Only a client that holds our cookie, valid or not, needs it expired.
	_, s.expireCookie = s.mw.readToken(s.request())
	return nil
}

// touch refreshes the idle timeout without rewriting the data.
func (s *Session) touch() error {
	m := s.mw
	now := m.now()
	expires := m.deadline(now, s.rec.Saved, s.rec.Created, s.expiry)
	if err := m.store.Touch(s.storeCtx(), s.id, now, expires); err != nil {
		return err
	}
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
