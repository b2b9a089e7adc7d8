package sessions

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Store keeps session records on the server. The middleware is its only
// caller; applications pick a store and hand it to Middleware.
//
// A store never sees a session token. Every method takes the record's id: the
// lowercase hex SHA-256 digest of the token, 64 characters, so a dump of the
// store yields no live token. The session of a logged-in user in a store
// whose UserStore.UserTag returns a tag has the id tag + "." + digest
// instead (at most 81 bytes), and its token starts with the same tag and dot:
// that is how a store can file a user's sessions together (in one Redis
// Cluster hash slot, say) and still find a record from its id alone. Any
// other id is never issued; a store may treat it as not found.
//
// Implementations must be safe for concurrent use. Every method receives the
// request's context and should give up when it is done. Package sessionstest
// holds a conformance suite that every Store should pass.
//
// Delete reports whether it found the record, so that a request that holds
// a session revoked or logged out meanwhile by another request cannot bring
// it back under a new id (CycleKey, Login): of the concurrent deletes of a
// record, only one may report it found. The middleware deletes the old
// record before it creates the new one, so a store needs no atomicity
// across the two ids.
type Store interface {
	// Load returns the record stored under id. A record that is missing,
	// expired (Expires is not after the current time) or malformed is
	// reported as found == false with a nil error: not found is a result.
	// A non-nil error means the store could not answer; it should wrap
	// ErrUnavailable when the store could not be reached.
	//
	// The caller treats the returned Values as read-only, so a store may
	// hand out a map it keeps no other reference to without copying.
	Load(ctx context.Context, id string) (rec Record, found bool, err error)

	// Save applies ch to the record stored under id, atomically: either all
	// of the change is applied or none of it.
	//
	// With ch.New the record is created, replacing any record under id.
	// Without it the record must already exist and not be expired; if it
	// does not, Save changes nothing and returns an error wrapping
	// ErrInterrupted, so that a session deleted by a concurrent request is
	// never brought back from a partial change.
	//
	// Keys in ch.Incr are incremented in the store itself, starting from 0
	// when absent, so that concurrent increments are never lost. Incrementing
	// a value that is not an integer fails with an error wrapping
	// ErrNotInteger. Save must not keep references to ch's maps.
	//
	// With ch.Expect the change is conditional: it is applied only if every
	// key in ch.Expect still holds that value (or is still absent), checked
	// in the same atomic step as the change itself. Otherwise Save changes
	// nothing, not even the other keys or the increments, and returns an
	// error wrapping ErrConflict. A missing record is ErrInterrupted even
	// then. A store that cannot check ch.Expect must fail such a save rather
	// than apply it unchecked: ignoring it silently loses the updates that
	// Update exists to keep. Package sessionstest checks this.
	Save(ctx context.Context, id string, ch Change) error

	// Delete removes the record stored under id, and from its user's index
	// when the store keeps one, and reports whether it found a live record
	// there. Deleting a missing record is not an error: it reports false.
	//
	// Of concurrent deletes of one record (and a UserStore's
	// DeleteUserSessions, which also deletes records), at most one reports
	// finding it: the middleware relies on that to tell CycleKey and Login
	// that the session they are about to save under a new id was revoked or
	// logged out by another request meanwhile, so that it is not brought
	// back. A store that cannot tell must report true only when it deleted
	// a record that was there, never when it was gone already.
	Delete(ctx context.Context, id string) (found bool, err error)

	// Touch records that the session was seen at seen and moves its expiry
	// to expires, setting the record's LastSeen and Expires and rewriting
	// nothing else; it is how an idle timeout is refreshed. Touching a
	// missing or expired record is not an error and creates nothing.
	Touch(ctx context.Context, id string, seen, expires time.Time) error
}

// Record is a session as a Store holds it.
type Record struct {
	// Values maps each session key to its value encoded as JSON text. A
	// store may return other JSON text of the same value than was saved
	// (spaced or ordered differently), as PostgreSQL's jsonb does.
	Values map[string]string
	// UUID is the session's public handle (see Session.UUID).
	UUID string
	// Created is when the session was first saved; CycleKey keeps it.
	Created time.Time
	// Saved is when the session was last saved.
	Saved time.Time
	// LastSeen is when the session was last saved or touched: every Save
	// sets it to Change.Saved, every Touch to its seen argument. The
	// middleware enforces the idle timeout from it, so a timeout shortened
	// since the last request applies at once.
	LastSeen time.Time
	// Expires is when the store must forget the record.
	Expires time.Time
	// Expiry is the session's own expiry policy set by Session.SetExpiry:
	// 0 follows the middleware's settings, a positive duration is an
	// inactivity age, and a negative one means "expire at browser close".
	Expiry time.Duration

	// Principal is the user the session is bound to by Session.Login, ""
	// for an anonymous session. A store that implements UserStore files
	// the record in that user's index.
	Principal string
	// IP is the client's address (gin's c.ClientIP()) at login, refreshed
	// by a later save that sees another one; "" for an anonymous session.
	IP string
	// UserAgent is the client's User-Agent header at login, at most 256
	// bytes; "" for an anonymous session.
	UserAgent string
}

// Change is what one request did to a session: a delta, not a copy, so that
// concurrent requests that change different keys all persist. A key appears
// in at most one of Set, Delete and Incr.
type Change struct {
	// New creates the record instead of updating it.
	New bool
	// Set maps keys to their new values, encoded as JSON text.
	Set map[string]string
	// Delete lists the keys to remove.
	Delete []string
	// Incr maps keys to the amounts to add to their integer values.
	Incr map[string]int64
	// Expect, when not empty, makes the save conditional: it maps keys to
	// the JSON text they must still hold for the change to be applied, ""
	// (never JSON text) for a key that must still be absent. The text is
	// what Load returned; a store compares values, not spelling, when it
	// may return other text of the same value (jsonb). It is never set
	// with New.
	Expect map[string]string
	// UUID and Created are written only when New is set.
	UUID    string
	Created time.Time
	// Saved, Expires and Expiry replace the record's fields on every save;
	// Saved is also the record's new LastSeen.
	Saved   time.Time
	Expires time.Time
	Expiry  time.Duration

	// Principal is written only when New is set: a session is bound to a
	// user when it is created (at login) and stays bound until it dies.
	// On other saves it repeats the record's principal, so that a store
	// may find the user's index without reading the record first.
	Principal string
	// IP and UserAgent are written when New is set; on other saves, an IP
	// that is not "" replaces the record's.
	IP        string
	UserAgent string

	// MaxUserSessions, when above 0 with New and a Principal, caps the
	// user's sessions in the same atomic step as the save (see UserStore):
	// the store deletes the user's other live sessions (those whose UUID
	// is not UUID) beyond the MaxUserSessions-1 most recently seen. It is
	// set only for a store that implements UserStore.
	MaxUserSessions int
	// Revoked, when not nil with MaxUserSessions, is called with the UUID
	// of each live session that the cap deleted, once the save has
	// succeeded and before Save returns, so that each revocation can be
	// reported (EventRevoked), as UserSelection.Deleted does for
	// DeleteUserSessions. It is never called when Save fails. A store
	// that never calls it reports no revocation for the cap.
	Revoked func(uuid string)
}

// Errors that stores return (wrapped) and the middleware classifies with
// errors.Is. The default error handler answers ErrUnavailable with 503
// Service Unavailable, ErrInterrupted with 400 Bad Request, ErrConflict
// with 409 Conflict and anything else with 500 Internal Server Error.
var (
	// ErrUnavailable means the store could not be reached.
	ErrUnavailable = errors.New("sessions: session store unavailable")
	// ErrInterrupted means the session was deleted (by a concurrent logout,
	// key rotation or expiry) while this request was changing it; the change
	// was not saved. It is Django's SessionInterrupted.
	ErrInterrupted = errors.New("sessions: the session was deleted before the request finished; the change was not saved")
	// ErrNotInteger means Incr was applied to a value that is not an integer.
	ErrNotInteger = errors.New("sessions: value is not an integer")
	// ErrConflict means a key that Update (or AddFlash, or Flashes) changed
	// kept changing under concurrent requests of the same session: the
	// middleware re-read it and ran the update again a few times, and each
	// time another request had changed it first. Nothing of the request is
	// saved. Stores return it (wrapped) when a conditional save finds a key
	// of Change.Expect changed.
	ErrConflict = errors.New("sessions: the session kept changing under concurrent requests; the change was not saved")
)

// wrappedError is an error with context in front, the "sessions: " prefix
// said once: the wrapped error's own prefix is dropped from the message.
type wrappedError struct {
	msg string
	err error
}

// wrapError returns err with msg, which starts with "sessions: ", in front.
func wrapError(msg string, err error) error {
	return &wrappedError{msg: msg, err: err}
}

func (e *wrappedError) Error() string {
	return e.msg + ": " + strings.TrimPrefix(e.err.Error(), "sessions: ")
}

func (e *wrappedError) Unwrap() error { return e.err }
