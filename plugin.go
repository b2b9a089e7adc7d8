// Package sessions gives Gin applications Django-style server-side
// sessions: a random token in a cookie, the data on the server, a
// dictionary-like API, and saving that happens by itself.
//
// Quick start:
//
//	r := gin.Default()
//	r.Use(sessions.Middleware(sessions.NewMemoryStore()))
//	r.GET("/", func(c *gin.Context) {
//		s := sessions.Default(c)
//		n := s.GetInt("num_visits") + 1
//		s.Set("num_visits", n)
//		c.String(200, "You have visited this page %d times.", n)
//	})
//
// The session is loaded on first use and saved just before the response
// headers are written, whatever way the handler answers. A request that
// never touches the session costs no store call and gets no cookie; a
// visitor who only reads gets no cookie either.
//
// Requests of one session that run at once never undo each other's saved
// work: a save carries only what the request changed, Incr is added by the
// store itself, and Update (which AddFlash and Flashes use too) saves a
// read-modify-write of one key only if the key still holds what it read,
// running it again on the newer value otherwise.
//
// Django's settings map onto options: SESSION_COOKIE_NAME is
// WithCookieName, SESSION_COOKIE_AGE WithCookieAge, SESSION_COOKIE_DOMAIN
// WithCookieDomain, SESSION_COOKIE_PATH WithCookiePath,
// SESSION_COOKIE_SECURE WithSecure, SESSION_COOKIE_HTTPONLY WithHTTPOnly,
// SESSION_COOKIE_SAMESITE WithSameSite, SESSION_EXPIRE_AT_BROWSER_CLOSE
// WithExpireAtBrowserClose and SESSION_SAVE_EVERY_REQUEST
// WithSaveEveryRequest. request.session's methods are Session's.
//
// Coming from gin-contrib/sessions or scs: the Example_migratingFrom…
// programs are the "after" programs of the repository's MIGRATING.md, and
// package github.com/ginsessions/sessions/migrate moves live sessions over.
package sessions

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Option configures Middleware.
type Option func(*middleware)

// middleware holds the settings of one Middleware and does its work.
type middleware struct {
	store        Store
	cookieName   string
	cookieAge    time.Duration
	domain       string
	path         string
	secure       bool
	httpOnly     bool
	sameSite     http.SameSite
	partitioned  bool
	atClose      bool
	saveEvery    bool
	idle         time.Duration
	absolute     time.Duration
	header       string
	errorHandler func(*gin.Context, error)
	logger       *slog.Logger
	loggerSet    bool
	maxPerUser   int
	hooks        Hooks // WithHooks; store is wrapped to report to them
	key          string
	keyAny       any // key, boxed once rather than on every request
	selfKey      any // middlewareKey{m}, under which a request's context finds its session

	// The Set-Cookie line is "name=" + value + attrs + [lifetime] + tail.
	cookieHead, cookieAttrs, cookieTail string
	now                                 func() time.Time

	// turns make the retries of conflicting saves of one session in this
	// process take turns: see Session.saveChange.
	turns [64]sync.Mutex
}

// WithCookieName sets the session cookie's name; default "sessionid"
// (SESSION_COOKIE_NAME). A name starting with "__Host-" requires
// WithSecure(true), path "/" and no domain; "__Secure-" requires
// WithSecure(true). An empty or invalid name panics.
func WithCookieName(name string) Option {
	if name == "" || !validCookieName(name) {
		panic(fmt.Sprintf("sessions: WithCookieName(%q): a cookie name must be a non-empty HTTP token", name))
	}
	return func(m *middleware) { m.cookieName = name }
}

// WithCookieAge sets how long a session lives after its last save; default
// 14 days (SESSION_COOKIE_AGE). It is also the cookie's Max-Age when the
// cookie is persistent. A zero or negative age panics.
func WithCookieAge(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("sessions: WithCookieAge(%v): the age must be positive", d))
	}
	return func(m *middleware) { m.cookieAge = d }
}

// WithCookieDomain sets the cookie's Domain; default "" (host-only,
// SESSION_COOKIE_DOMAIN).
func WithCookieDomain(domain string) Option {
	return func(m *middleware) { m.domain = domain }
}

// WithCookiePath sets the cookie's Path; default "/" (SESSION_COOKIE_PATH).
// A path that does not start with "/" panics.
func WithCookiePath(path string) Option {
	if !strings.HasPrefix(path, "/") {
		panic(fmt.Sprintf("sessions: WithCookiePath(%q): the path must start with /", path))
	}
	return func(m *middleware) { m.path = path }
}

// WithSecure marks the cookie Secure, sent over HTTPS only; default false
// (SESSION_COOKIE_SECURE). Turn it on in production behind HTTPS.
func WithSecure(on bool) Option {
	return func(m *middleware) { m.secure = on }
}

// WithHTTPOnly hides the cookie from JavaScript; default true
// (SESSION_COOKIE_HTTPONLY). false exposes it to scripts.
func WithHTTPOnly(on bool) Option {
	return func(m *middleware) { m.httpOnly = on }
}

// WithSameSite sets the cookie's SameSite attribute; default
// http.SameSiteLaxMode (SESSION_COOKIE_SAMESITE). http.SameSiteNoneMode
// requires WithSecure(true); http.SameSiteDefaultMode omits the attribute.
func WithSameSite(mode http.SameSite) Option {
	return func(m *middleware) { m.sameSite = mode }
}

// WithPartitioned sets the cookie's Partitioned attribute (CHIPS); default
// false. Turn it on for a site that runs embedded in other sites' pages,
// where browsers that block third-party cookies keep a partitioned cookie
// for each top-level site. It requires WithSecure(true), as browsers do;
// without it Middleware panics. A cross-site embed also needs
// WithSameSite(http.SameSiteNoneMode) for the cookie to be sent at all.
func WithPartitioned(on bool) Option {
	return func(m *middleware) { m.partitioned = on }
}

// WithExpireAtBrowserClose chooses the cookie's lifetime; default true: the
// cookie has no Max-Age and ends when the browser closes, while the server
// still forgets the session WithCookieAge after its last save. false makes
// the cookie persistent with Max-Age equal to the cookie age, Django's
// default (SESSION_EXPIRE_AT_BROWSER_CLOSE).
func WithExpireAtBrowserClose(on bool) Option {
	return func(m *middleware) { m.atClose = on }
}

// WithSaveEveryRequest saves the session on every request that carries a
// valid session token, so its expiry slides; default false
// (SESSION_SAVE_EVERY_REQUEST). A session that was never written is never
// stored, even so.
func WithSaveEveryRequest(on bool) Option {
	return func(m *middleware) { m.saveEvery = on }
}

// WithIdleTimeout ends a session after d without a request that accesses
// it; default 0, off. Each request that reads the session refreshes the
// timeout with one cheap store call that does not rewrite the data. The
// timeout counts from the record's LastSeen, so a timeout shortened at a
// restart applies at once to the sessions already stored. A negative d
// panics.
func WithIdleTimeout(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("sessions: WithIdleTimeout(%v): use 0 to turn it off", d))
	}
	return func(m *middleware) { m.idle = d }
}

// WithAbsoluteTimeout ends a session d after its creation, whatever
// happens; CycleKey does not extend it. Default 0, off. A negative d panics.
func WithAbsoluteTimeout(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("sessions: WithAbsoluteTimeout(%v): use 0 to turn it off", d))
	}
	return func(m *middleware) { m.absolute = d }
}

// WithHeader also accepts the token in the named request header, which wins
// over the cookie, and returns the token in that response header whenever a
// new one is issued: sessions for mobile apps and API clients. Default ""
// (off).
func WithHeader(name string) Option {
	return func(m *middleware) { m.header = http.CanonicalHeaderKey(name) }
}

// WithErrorHandler sets what answers the request when the session cannot be
// loaded or saved, instead of the handler's response. The default answers
// in plain text, with the status ErrorStatus gives: 503 Service Unavailable
// when the store cannot be reached (ErrUnavailable), 400 Bad Request when
// the session was deleted by a concurrent request (ErrInterrupted), 409
// Conflict when a key that Update changed kept changing under concurrent
// requests (ErrConflict), and 500 otherwise. A site that shows its visitors
// HTML sets its own, which calls ErrorStatus for the status and renders a
// page (see the example). Whatever fn does, the client never sees the
// handler's success: a handler that writes nothing gets that status. A nil
// fn panics.
func WithErrorHandler(fn func(c *gin.Context, err error)) Option {
	if fn == nil {
		panic("sessions: WithErrorHandler(nil): pass a function")
	}
	return func(m *middleware) { m.errorHandler = fn }
}

// WithLogger sets where the middleware reports what no handler is left to
// see: a change to a session after its request had finished that could not
// be saved, one Warn record each, with the session's UUID and the reason
// (see Session). The default is slog.Default() at the time of the report;
// nil turns the reports off.
func WithLogger(logger *slog.Logger) Option {
	return func(m *middleware) { m.logger, m.loggerSet = logger, true }
}

// log returns the logger reports go to, or nil when they are off.
func (m *middleware) log() *slog.Logger {
	if !m.loggerSet {
		return slog.Default()
	}
	return m.logger
}

// WithContextKey sets the gin.Context key the session is stored under;
// default ContextKey. Give each Middleware its own key (and cookie name) to
// run several sessions in one app. An empty key panics.
func WithContextKey(key string) Option {
	if key == "" {
		panic("sessions: WithContextKey(\"\"): the key must not be empty")
	}
	return func(m *middleware) { m.key = key }
}

// Middleware returns the gin middleware that gives every request a session
// kept in store. It panics on impossible settings, saying what to change.
func Middleware(store Store, opts ...Option) gin.HandlerFunc {
	m := newMiddleware(store, opts)
	return m.handle
}

func newMiddleware(store Store, opts []Option) *middleware {
	if store == nil {
		panic("sessions: Middleware(nil): pass a Store, e.g. sessions.NewMemoryStore()")
	}
	m := &middleware{
		store:        store,
		cookieName:   "sessionid",
		cookieAge:    14 * 24 * time.Hour,
		path:         "/",
		httpOnly:     true,
		sameSite:     http.SameSiteLaxMode,
		atClose:      true,
		errorHandler: defaultErrorHandler,
		key:          ContextKey,
		now:          time.Now,
	}
	for _, opt := range opts {
		opt(m)
	}
	m.addHooks()
	m.check()
	m.formatCookie()
	m.keyAny = m.key
	m.selfKey = middlewareKey{m}
	return m
}

// check panics on combinations browsers would reject, and on options the
// store cannot serve.
func (m *middleware) check() {
	if _, ok := m.store.(UserStore); m.maxPerUser > 0 && !ok {
		panic(fmt.Sprintf("sessions: WithMaxSessionsPerUser needs a store with a per-user index; %T does not implement sessions.UserStore", m.store))
	}
	switch {
	case m.sameSite == http.SameSiteNoneMode && !m.secure:
		panic("sessions: SameSite=None cookies must be Secure: add sessions.WithSecure(true)")
	case m.partitioned && !m.secure:
		panic("sessions: Partitioned cookies must be Secure: add sessions.WithSecure(true)")
	case strings.HasPrefix(m.cookieName, "__Host-") && (!m.secure || m.path != "/" || m.domain != ""):
		panic("sessions: a __Host- cookie must be Secure, with path / and no domain")
	case strings.HasPrefix(m.cookieName, "__Secure-") && !m.secure:
		panic("sessions: a __Secure- cookie must be Secure: add sessions.WithSecure(true)")
	}
}

// handle runs for every request: it installs a session that loads on first
// use and a writer that commits it before the first byte goes out.
func (m *middleware) handle(c *gin.Context) {
	ctx := c.Request.Context()
	// The session is found by its context value, not by the context's
	// type: a middleware may have derived the request's context since
	// (a timeout, a trace, another session middleware).
	if s, ok := ctx.Value(m.selfKey).(*Session); ok && s.gin == c {
		m.handleAgain(c, s)
		return
	}
	rs := &requestState{}
	s := &rs.session
	s.mw, s.req, s.gin = m, c.Request, c
	rs.writer = sessionWriter{ResponseWriter: c.Writer, s: s}

	c.Writer = &rs.writer
	c.Set(m.keyAny, s)
	// The copy lives inside rs: WithContext is inlined and its result does
	// not escape, which saves an allocation on every request.
	rs.request = *c.Request.WithContext(rs)
	c.Request = &rs.request

	returned := false
	defer func() {
		if !returned {
			s.abandon(c)
		}
	}()
	c.Next()
	returned = true

	// A response without a body (a redirect after a POST, c.Status) is
	// written by gin after the chain, through its own writer: commit now.
	rs.writer.commit()
	s.finish(c)
}

// handleAgain runs the chain again for a request that gin's HandleContext
// sends through the engine a second time: it is the same request, so it
// keeps its session, and the new chain's writer commits it.
func (m *middleware) handleAgain(c *gin.Context, s *Session) {
	w := &sessionWriter{ResponseWriter: c.Writer, s: s}
	c.Writer = w
	c.Set(m.keyAny, s)
	c.Next()
	w.commit()
}

// requestState is everything the middleware adds to one request, in one
// allocation: the session, the writer wrapper and the request whose
// context, the requestState itself, carries the session to net/http
// handlers. It holds nothing that another field already knows, so that it
// fits the 384-byte size class: an untouched request pays for it alone.
type requestState struct {
	session Session
	writer  sessionWriter
	request http.Request
}

// Deadline is the request's own context's.
func (rs *requestState) Deadline() (time.Time, bool) { return rs.session.req.Context().Deadline() }

// Done is the request's own context's.
func (rs *requestState) Done() <-chan struct{} { return rs.session.req.Context().Done() }

// Err is the request's own context's.
func (rs *requestState) Err() error { return rs.session.req.Context().Err() }

// Value returns the session for its keys and defers to the request's
// context for everything else.
func (rs *requestState) Value(key any) any {
	switch k := key.(type) {
	case ctxKey:
		if string(k) == rs.session.mw.key {
			return &rs.session
		}
	case middlewareKey:
		if k.m == rs.session.mw {
			return &rs.session
		}
	case anySessionKey:
		return &rs.session
	}
	return rs.session.req.Context().Value(key)
}

// middlewareKey is the request-context key of the session of one
// middleware, so that a request sent through the chain again (gin's
// HandleContext) keeps its session whatever contexts were derived since.
type middlewareKey struct{ m *middleware }

// anySessionKey is the request-context key of the session installed last,
// whatever its middleware's key: FromContext's last resort.
type anySessionKey struct{}

// age is how long a session with the given policy lives after a save.
func (m *middleware) age(expiry time.Duration) time.Duration {
	if expiry > 0 {
		return expiry
	}
	return m.cookieAge
}

// browserClose reports whether a session with the given policy gets a
// cookie that ends with the browser.
func (m *middleware) browserClose(expiry time.Duration) bool {
	if expiry != 0 {
		return expiry < 0
	}
	return m.atClose
}

// deadline is when the store must forget a session last saved at saved,
// seen at now.
func (m *middleware) deadline(now, saved, created time.Time, expiry time.Duration) time.Time {
	d := saved.Add(m.age(expiry))
	if m.idle > 0 {
		if idle := now.Add(m.idle); idle.Before(d) {
			d = idle
		}
	}
	if m.absolute > 0 {
		if abs := created.Add(m.absolute); abs.Before(d) {
			d = abs
		}
	}
	return d
}

// alive reports whether a loaded record may still be served, whatever the
// store thinks: options may have shortened lifetimes since it was saved,
// the idle timeout included, which counts from the record's LastSeen.
func (m *middleware) alive(rec Record, now time.Time) bool {
	if !now.Before(rec.Expires) || !now.Before(rec.Saved.Add(m.age(rec.Expiry))) {
		return false
	}
	if m.idle > 0 && !now.Before(lastSeen(rec).Add(m.idle)) {
		return false
	}
	return m.absolute == 0 || now.Before(rec.Created.Add(m.absolute))
}

// lastSeen is when rec was last saved or touched. A store that leaves
// LastSeen zero is read as if the last save were the last sighting.
func lastSeen(rec Record) time.Time {
	if rec.LastSeen.Before(rec.Saved) {
		return rec.Saved
	}
	return rec.LastSeen
}

// readToken returns the request's token and whether it came in the cookie.
// The header, when enabled, wins.
func (m *middleware) readToken(r *http.Request) (token string, fromCookie bool) {
	if m.header != "" {
		if v := r.Header.Get(m.header); v != "" {
			return v, false
		}
	}
	return findCookie(r.Header["Cookie"], m.cookieName)
}

// findCookie returns the value of the first cookie called name in the
// request's Cookie header lines, as http.Request.Cookie would, without
// parsing (and allocating) every other cookie.
func findCookie(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// addVary adds field to the response's Vary header unless it is there.
func addVary(h http.Header, field string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return
			}
		}
	}
	h.Add("Vary", field)
}

// formatCookie prepares the constant parts of the Set-Cookie line, in the
// order and with the checks of http.Cookie.String: "name=", then the value,
// then Path and Domain, then (for a persistent cookie) Expires and Max-Age,
// then HttpOnly, Secure, SameSite and Partitioned.
func (m *middleware) formatCookie() {
	if m.domain != "" {
		ck := http.Cookie{Name: "x", Value: "x", Domain: m.domain}
		if !strings.Contains(ck.String(), "Domain=") {
			panic(fmt.Sprintf("sessions: WithCookieDomain(%q): not a valid cookie domain", m.domain))
		}
	}
	m.cookieHead = m.cookieName + "="
	m.cookieAttrs = strings.TrimPrefix((&http.Cookie{Name: "x", Value: "x", Path: m.path, Domain: m.domain}).String(), "x=x")
	m.cookieTail = strings.TrimPrefix((&http.Cookie{Name: "x", Value: "x", HttpOnly: m.httpOnly, Secure: m.secure, SameSite: m.sameSite, Partitioned: m.partitioned}).String(), "x=x")
}

// validCookieName reports whether name is an HTTP token (RFC 6265).
func validCookieName(name string) bool {
	return (&http.Cookie{Name: name, Value: "x"}).Valid() == nil
}

// defaultErrorHandler answers with ErrorStatus's code and a plain-text
// line: the sentinel's message for 503 and 400, the status text otherwise.
func defaultErrorHandler(c *gin.Context, err error) {
	code := ErrorStatus(err)
	msg := http.StatusText(code)
	switch code {
	case http.StatusServiceUnavailable:
		msg = ErrUnavailable.Error()
	case http.StatusBadRequest:
		msg = ErrInterrupted.Error()
	case http.StatusConflict:
		msg = ErrConflict.Error()
	}
	c.String(code, msg)
}

// ErrorStatus returns the HTTP status the default error handler answers err
// with: 503 Service Unavailable when the store could not be reached
// (ErrUnavailable), 400 Bad Request when a concurrent request deleted the
// session (ErrInterrupted), 500 Internal Server Error for anything else (a
// value that cannot be encoded, a failed Incr, a store that refused the
// change). A handler set with WithErrorHandler calls it to answer with the
// same status in its own words, an HTML page say:
//
//	sessions.WithErrorHandler(func(c *gin.Context, err error) {
//		c.HTML(sessions.ErrorStatus(err), "error.html", gin.H{"retry": errors.Is(err, sessions.ErrUnavailable)})
//	})
func ErrorStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrInterrupted):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}
