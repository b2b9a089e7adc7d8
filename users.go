package sessions

import (
	"context"
	"errors"
	"time"
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
// user's sessions: MemoryStore and RedisStore implement it, and a third-party
// store that does gets the per-user features. Package sessionstest checks the
// guarantees below.
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
}
