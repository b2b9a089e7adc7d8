package sessions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SessionInfo describes one of a user's live sessions, for a "where you are
// signed in" page or an admin tool. It never holds the token.
type SessionInfo struct {
	// UUID is the session's public handle (Session.UUID), which
	// RevokeSession takes; never the token.
	UUID      string
	Principal string
	// Created is when the session was first saved.
	Created time.Time
	// LastSeen is when the session was last saved or touched.
	LastSeen time.Time
	// Expires is when the server will forget the session if nothing
	// happens before.
	Expires time.Time
	// IP is the client's address (c.ClientIP()) at login, refreshed when a
	// later save sees another one.
	IP string
	// UserAgent is the User-Agent header at login, at most 256 bytes.
	UserAgent string
	// Current marks the session of the request that asked.
	Current bool
}

// ErrNotSupported is returned by the per-user functions (UserSessions,
// RevokeSession, RevokeUserSessions and the Session methods that use them)
// when the store keeps no per-user index, that is, does not implement
// UserStore. A store that cannot list a user's sessions says so rather than
// answer with an empty list.
var ErrNotSupported = errors.New("sessions: the session store keeps no per-user index (it does not implement sessions.UserStore)")

// UserStore is the optional interface of a Store that keeps an index of each
// user's sessions: MemoryStore, RedisStore and the PostgreSQL store of
// package github.com/ginsessions/sessions/pgstore implement it, and a
// third-party store that does gets the per-user features. Package
// sessionstest checks the guarantees below.
//
// The index follows the records: a save with Change.New and a Principal
// files the record under that principal, and Delete, expiry and eviction
// take it out. In particular:
//
//   - Listing never returns a dead (deleted or expired) session, and the
//     index holds at most the user's live sessions plus a bounded amount of
//     dead entries that the operations below clean up, with no background
//     scan needed.
//   - DeleteUserSessions is atomic with respect to a concurrent save that
//     creates a session of the same user: when it returns, every session of
//     the user that it selected and that was created before it started is
//     gone, and a session created concurrently is either deleted or listed
//     afterwards, never alive and missing from the index.
type UserStore interface {
	Store

	// UserTag returns the tag that the ids (and tokens) of principal's
	// sessions carry, or "" for none: see the Store documentation on ids.
	// A tag is 1 to 16 characters from [0-9a-z]; every process that shares
	// the store must compute the same tag for a principal. It should reveal
	// nothing about the principal to whoever reads a token.
	UserTag(ctx context.Context, principal string) (string, error)

	// LoadUserSessions returns the live records of principal's sessions,
	// in any order. Their Values may be nil: callers use the metadata only.
	LoadUserSessions(ctx context.Context, principal string) ([]Record, error)

	// DeleteUserSessions deletes the sessions of principal that sel selects,
	// in one atomic step, and returns how many live sessions it deleted.
	DeleteUserSessions(ctx context.Context, principal string, sel UserSelection) (int, error)
}

// UserSelection chooses which of a user's sessions
// UserStore.DeleteUserSessions deletes. The zero value selects them all.
type UserSelection struct {
	// UUID, when not "", selects only the session with this UUID.
	UUID string
	// Except, when not "", spares the session with this UUID.
	Except string
	// Keep spares, among the others selected, the Keep most recently seen
	// (the latest save or touch); 0 spares none.
	Keep int

	// Deleted, when not nil, is called with the UUID of each live session
	// that DeleteUserSessions deleted, once they are gone and before it
	// returns, so that each revocation can be reported (EventRevoked). A
	// store that never calls it gets one event per session it counts,
	// without the UUID unless UUID names it.
	Deleted func(uuid string)
}

// pick returns the indexes in recs of the sessions sel selects, for stores
// that select in Go.
func (sel UserSelection) pick(recs []Record) []int {
	var picked []int
	for i, rec := range recs {
		if (sel.UUID == "" || rec.UUID == sel.UUID) && (sel.Except == "" || rec.UUID != sel.Except) {
			picked = append(picked, i)
		}
	}
	if sel.Keep <= 0 {
		return picked
	}
	slices.SortFunc(picked, func(a, b int) int { return compareSeen(recs[a], recs[b]) })
	return picked[min(sel.Keep, len(picked)):]
}

// compareSeen orders records most recently seen first, then most recently
// created, then by UUID, so that every store and the listing agree.
func compareSeen(a, b Record) int {
	if c := lastSeen(b).Compare(lastSeen(a)); c != 0 {
		return c
	}
	if c := b.Created.Compare(a.Created); c != 0 {
		return c
	}
	return strings.Compare(a.UUID, b.UUID)
}

// maxUserAgent bounds the User-Agent kept for a session.
const maxUserAgent = 256

// WithMaxSessionsPerUser caps the sessions of one user; default 0, no
// limit. At Login, the user's least recently seen sessions beyond n (this
// one included) are revoked, in the same atomic step as the login's save,
// so that concurrent logins of one user leave at most n sessions, the
// last login's among them. n < 0 panics, and so does Middleware when n > 0
// and the store keeps no per-user index (see UserStore).
func WithMaxSessionsPerUser(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("sessions: WithMaxSessionsPerUser(%d): use 0 for no limit", n))
	}
	return func(m *middleware) { m.maxPerUser = n }
}

// Login binds the session to principal, a user id, as Django's login does:
// the session gets a new token (CycleKey, against session fixation) and
// records the client's IP (c.ClientIP(), so gin's trusted-proxy settings
// apply) and User-Agent, then WithMaxSessionsPerUser applies when the
// session is saved. A session bound to another principal is flushed first,
// so one user never inherits another's data; one bound to the same
// principal keeps its data. A session that another request revoked or
// logged out since this one loaded it is not brought back: as with
// CycleKey, nothing more of the request is saved and it fails with
// ErrInterrupted. An empty principal panics.
func (s *Session) Login(principal string) {
	if principal == "" {
		panic("sessions: Login(\"\"): pass the id of the user who logged in")
	}
	ip, ua := s.client()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if p := s.rec.Principal; p != "" && p != principal {
		s.flush(true)
	}
	s.cycle()
	s.rec.Principal, s.rec.IP, s.rec.UserAgent = principal, ip, ua
	s.cycled = EventLoggedIn
	s.settle()
}

// client returns the client's IP (c.ClientIP()) and User-Agent, or "" once
// the request has ended and gin's Context is no longer its.
func (s *Session) client() (ip, userAgent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gin == nil {
		return "", ""
	}
	return s.gin.ClientIP(), truncateUTF8(s.gin.Request.UserAgent(), maxUserAgent)
}

// Principal returns the user the session is bound to by Login, or "" for
// an anonymous session. Flush, and revocation from elsewhere, end the
// binding; Clear keeps it.
func (s *Session) Principal() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.rec.Principal
}

// UserSessions returns the live sessions of the user this session is bound
// to, most recently seen first, this one marked Current. It returns nil,
// nil for an anonymous session and ErrNotSupported when the store keeps no
// per-user index. A Login in this request shows once the session is saved.
func (s *Session) UserSessions() ([]SessionInfo, error) {
	ctx, principal, self := s.binding()
	if principal == "" {
		return nil, nil
	}
	// The middleware's options may end a session sooner than its store
	// does (an absolute timeout, a shorter cookie age): list what it serves.
	now := s.mw.now()
	infos, err := listUser(ctx, s.mw.store, principal, func(r Record) bool { return s.mw.alive(r, now) })
	for i := range infos {
		infos[i].Current = self != "" && infos[i].UUID == self
	}
	return infos, err
}

// RevokeOtherSessions ends every session of the user this session is bound
// to except this one ("log out my other devices") and returns how many it
// ended. It returns 0, nil for an anonymous session and ErrNotSupported when
// the store keeps no per-user index.
func (s *Session) RevokeOtherSessions() (int, error) {
	ctx, principal, self := s.binding()
	if principal == "" {
		return 0, nil
	}
	us, err := userStore(s.mw.store, principal)
	if err != nil {
		return 0, err
	}
	return us.DeleteUserSessions(ctx, principal, UserSelection{Except: self})
}

// RevokeSession ends one session of the user this session is bound to, the
// one whose UUID is uuid (SessionInfo.UUID), at once: its next request gets
// a new, empty, anonymous session. For this session's own UUID it is Flush,
// a logout: the request goes on with a new session, so a flash added
// afterwards shows on the next page. It returns nil for a session that is
// gone already or belongs to another user, and for an anonymous session;
// ErrNotSupported when the store keeps no per-user index; an error for an
// empty uuid; and the store's error when the deletion failed.
func (s *Session) RevokeSession(uuid string) error {
	ctx, principal, self := s.binding()
	switch {
	case principal == "":
		return nil
	case uuid == "":
		return errEmptyUUID
	case uuid == self:
		s.mu.Lock()
		defer s.mu.Unlock()
		err := s.flush(false)
		s.settle()
		return err
	}
	us, err := userStore(s.mw.store, principal)
	if err != nil {
		return err
	}
	_, err = us.DeleteUserSessions(ctx, principal, UserSelection{UUID: uuid})
	return err
}

// errEmptyUUID is RevokeSession's answer to an empty uuid.
var errEmptyUUID = errors.New("sessions: RevokeSession: empty uuid: pass SessionInfo.UUID")

// binding returns the context of the session's store calls, and its
// principal and UUID.
func (s *Session) binding() (ctx context.Context, principal, uuid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.storeCtx(), s.rec.Principal, s.rec.UUID
}

// UserSessions returns the live sessions of principal in store, most
// recently seen first, without their tokens. It returns ErrNotSupported
// when store keeps no per-user index, and an error for an empty principal.
func UserSessions(ctx context.Context, store Store, principal string) ([]SessionInfo, error) {
	return listUser(ctx, withStoreHooks(store), principal, nil)
}

// listUser lists principal's sessions in store that alive (when not nil)
// accepts.
func listUser(ctx context.Context, store Store, principal string, alive func(Record) bool) ([]SessionInfo, error) {
	us, err := userStore(store, principal)
	if err != nil {
		return nil, err
	}
	recs, err := us.LoadUserSessions(ctx, principal)
	if err != nil {
		return nil, err
	}
	if alive != nil {
		recs = slices.DeleteFunc(recs, func(r Record) bool { return !alive(r) })
	}
	slices.SortFunc(recs, compareSeen)
	infos := make([]SessionInfo, len(recs))
	for i, r := range recs {
		infos[i] = SessionInfo{
			UUID: r.UUID, Principal: principal, Created: r.Created, LastSeen: lastSeen(r),
			Expires: r.Expires, IP: r.IP, UserAgent: r.UserAgent,
		}
	}
	return infos, nil
}

// RevokeSession ends the session of principal whose UUID is uuid, at once:
// its next request gets a new, empty, anonymous session. A session that is
// gone already, or belongs to another user, is not an error. It returns
// ErrNotSupported when store keeps no per-user index, and an error for an
// empty principal or uuid.
//
// It knows nothing of the request that calls it: revoking that request's
// own session this way makes its later changes fail with ErrInterrupted
// (400). In a handler, call Session.RevokeSession, which logs the request's
// own session out as Flush does.
func RevokeSession(ctx context.Context, store Store, principal, uuid string) error {
	us, err := userStore(withStoreHooks(store), principal)
	if err != nil {
		return err
	}
	if uuid == "" {
		return errEmptyUUID
	}
	_, err = us.DeleteUserSessions(ctx, principal, UserSelection{UUID: uuid})
	return err
}

// RevokeUserSessions ends every session of principal, at once ("log out
// everywhere", after a password change), and returns how many it ended.
// When it returns, no session of principal created before the call is
// alive. It returns ErrNotSupported when store keeps no per-user index, and
// an error for an empty principal.
func RevokeUserSessions(ctx context.Context, store Store, principal string) (int, error) {
	us, err := userStore(withStoreHooks(store), principal)
	if err != nil {
		return 0, err
	}
	return us.DeleteUserSessions(ctx, principal, UserSelection{})
}

// userStore returns store's per-user index, checking principal.
func userStore(store Store, principal string) (UserStore, error) {
	us, ok := store.(UserStore)
	if !ok {
		return nil, ErrNotSupported
	}
	if principal == "" {
		return nil, errors.New("sessions: empty principal: pass the id the user logged in with")
	}
	return us, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// issueToken returns a new token for the session: tagged as its store asks
// when the session is bound to a user. The caller holds s.mu.
func (s *Session) issueToken() (string, error) {
	us, ok := s.mw.store.(UserStore)
	if s.rec.Principal == "" || !ok {
		return newToken(), nil
	}
	tag, err := us.UserTag(s.storeCtx(), s.rec.Principal)
	if err != nil {
		return "", err
	}
	if tag != "" && !validTag(tag) {
		return "", fmt.Errorf("sessions: %T.UserTag returned %q; a tag is 1 to %d characters from [0-9a-z]", s.mw.store, tag, maxTagLen)
	}
	return newTaggedToken(tag), nil
}

// bindChange adds the session's user to ch: the whole binding for a new
// record, and for an update the client's IP when it changed since the
// record was saved. The caller holds s.mu.
func (s *Session) bindChange(ch *Change) {
	if s.rec.Principal == "" {
		return
	}
	ch.Principal = s.rec.Principal
	if ch.New {
		ch.IP, ch.UserAgent = s.rec.IP, s.rec.UserAgent
		return
	}
	if s.gin == nil {
		return // the request has ended: its IP is no longer known
	}
	if ip := s.gin.ClientIP(); ip != s.rec.IP {
		ch.IP, s.rec.IP = ip, ip
	}
}
