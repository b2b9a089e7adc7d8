package sessions

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
)

// updateAttempts is how many times a save whose conditional keys keep
// changing is tried before the request fails with ErrConflict: the first
// save and four retries. Each retry costs a Load and a Save; with the
// waits between them (see backOff), five tries carry 32 simultaneous
// appends to one key through on every store, and a key rewritten by many
// more requests at once gets the honest answer, 409.
const updateAttempts = 5

// Update changes the value under key by a read-modify-write that loses no
// concurrent update: fn gets the current value (ok is false when the key
// is absent, and old is then T's zero value) and returns the new one.
// Update stores it and returns it, and the change is saved only if the key
// still holds, in the store, the value fn read; the check and the rest of
// the request's changes are one atomic step. When another request of the
// same session changed the key meanwhile, the middleware reads it again,
// runs fn on the newer value and saves again, up to five tries in all,
// before the response goes out; past that the request fails with
// ErrConflict (409 from the default error handler) and nothing of it is
// saved. A 2xx response therefore still means that everything was saved.
// Without a conflict Update costs no store call beyond those of a Set.
//
// fn must be pure: it may run more than once, on different values, and
// runs while the session is locked, so it must not call the session's
// methods nor write the response. The response is computed from fn's first
// run; a handler that must show the saved value calls Save before
// rendering and reads the key again.
//
// When fn returns an error, Update changes nothing and returns fn's results
// as they are; the request goes on. A stored value that does not decode
// into a T is reported the same way, with nothing changed. When fn fails
// on a later run, on the newer value, the request fails with an error that
// wraps both ErrConflict and fn's error (409 by default) and nothing of it
// is saved: that is how a version key guards a group of keys (see
// docs/update.md). A new value that cannot be encoded, or a key starting
// with "_session_", fails the request as Set does. A key that the request
// has already Set or deleted holds this request's value, not the store's,
// so fn builds on that and the save needs no condition.
//
// Prefer Incr for a counter, which the store adds to without a condition
// and so never conflicts; Update suits values that are not numbers: a
// cart, a list, a set of seen items. Keys that must change together are
// best one key holding a struct; otherwise every writer of the group can
// Update a version key, failing when it is not the version it read.
//
// Each retry costs a Load and a Save of the session (on Redis an HGETALL
// and a script call, on PostgreSQL a SELECT and an UPDATE; on the memory
// store no I/O), after a short random wait that grows with each retry
// (about 1, 4, 16 and 64 ms at most on a fast store); a response without
// a conflict costs nothing more than a Set.
func Update[T any](s *Session, key string, fn func(old T, ok bool) (T, error)) (T, error) {
	var (
		out       T
		encodeErr bool // fails the request; fn's own errors do not
	)
	run := func(raw string, ok bool) (string, bool, error) {
		var old T
		if ok {
			v, decoded := decodeInto[T](raw)
			if !decoded {
				return "", false, fmt.Errorf("sessions: Update of key %q: the stored value %.40s does not decode into a %T", key, raw, old)
			}
			old = v
		}
		v, err := fn(old, ok)
		out = v
		if err != nil {
			return "", false, err
		}
		enc, err := encodeValue(v)
		if err != nil {
			encodeErr = true
			return "", false, wrapError(fmt.Sprintf("sessions: cannot encode the value of key %q", key), err)
		}
		return enc, true, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	defer s.settle()
	if strings.HasPrefix(key, reservedPrefix) {
		err := fmt.Errorf("sessions: key %q is reserved: keys starting with %q belong to the package", key, reservedPrefix)
		s.fail(err)
		var zero T
		return zero, err
	}
	if err := s.derive(key, run); err != nil {
		if encodeErr {
			s.fail(err)
		}
		return out, err
	}
	return out, nil
}

// step computes a key's new value from its current one, as JSON text; ok
// false means absent, in and out. It is Update's fn, an Incr, a flash
// added or the flashes taken, kept so that a conflict can replay it on a
// newer value.
type step func(raw string, ok bool) (string, bool, error)

// conditional is a key whose new value the request computed from the
// stored one: expect is that stored JSON text ("" for absent), steps turn
// it into the request's value.
type conditional struct {
	expect string
	steps  []step
}

// derive runs st on key's value as the request sees it and stores the
// result, changing nothing when st fails. When that value came from the
// store, the save becomes conditional on the store still holding it. The
// caller holds s.mu.
func (s *Session) derive(key string, st step) error {
	cur, ok := s.raw(key)
	next, nextOK, err := st(cur, ok)
	if err != nil {
		return err
	}
	s.change() // before the base is read: an earlier save's overlay is folded into it
	c := s.pending[key]
	d, incremented := s.incr[key]
	switch {
	case c != nil:
		c.steps = append(c.steps, st)
	case !s.stored:
		// A new session: its first save creates it, and no other request
		// can hold its token yet.
	case incremented || s.fromStore(key):
		c = &conditional{expect: s.rec.Values[key]}
		if incremented {
			c.steps = append(c.steps, addStep(key, d))
		}
		c.steps = append(c.steps, st)
	}
	if nextOK {
		s.put(key, next)
	} else {
		s.remove(key)
	}
	if c != nil {
		if s.pending == nil {
			s.pending = make(map[string]*conditional)
		}
		s.pending[key] = c
	}
	return nil
}

// fromStore reports whether key's value, as the request sees it, is the
// stored one: the request has not set or deleted it.
func (s *Session) fromStore(key string) bool {
	_, set := s.local[key]
	_, deleted := s.deleted[key]
	return !set && !deleted
}

// expectations returns the conditions of the next save: Change.Expect.
func (s *Session) expectations() map[string]string {
	if len(s.pending) == 0 {
		return nil
	}
	out := make(map[string]string, len(s.pending))
	for k, c := range s.pending {
		out[k] = c.expect
	}
	return out
}

// rebase follows a conflicting save: it reads the record again and
// recomputes every conditional key from its newer value, which the next
// save then expects. The request's other changes are deltas and stand as
// they are. A record gone meanwhile is ErrInterrupted. The caller holds
// s.mu.
func (s *Session) rebase() error {
	rec, found, err := s.mw.store.Load(s.storeCtx(), s.id)
	if err != nil {
		return err
	}
	if !found || !s.mw.alive(rec, s.mw.now()) {
		return wrapError("sessions: re-reading the session after a conflicting save", ErrInterrupted)
	}
	// The stored Values are the store's, read-only: the base is a copy.
	base := maps.Clone(s.rec.Values)
	if base == nil {
		base = make(map[string]string, len(s.pending))
	}
	for k, c := range s.pending {
		v, ok := rec.Values[k]
		c.expect = ""
		if ok {
			base[k], c.expect = v, v
		} else {
			delete(base, k)
		}
		for _, st := range c.steps {
			if v, ok, err = st(v, ok); err != nil {
				// The newer value is what made it fail: a conflict.
				return fmt.Errorf("%w (key %q, computed again on the value a concurrent request saved): %w", ErrConflict, k, err)
			}
		}
		if ok {
			if s.local == nil {
				s.local = make(map[string]string)
			}
			s.local[k] = v
			delete(s.deleted, k)
			continue
		}
		delete(s.local, k)
		if s.deleted == nil {
			s.deleted = make(map[string]struct{})
		}
		s.deleted[k] = struct{}{}
	}
	s.rec.Values = base
	return nil
}

// addStep is an Incr of key by d replayed on a newer value.
func addStep(key string, d int64) step {
	return func(raw string, ok bool) (string, bool, error) {
		var cur int64
		if ok {
			n, isInt := decodeInt64(raw)
			if !isInt {
				return "", false, wrapError(fmt.Sprintf("sessions: Incr of key %q", key), ErrNotInteger)
			}
			cur = n
		}
		n, fits := addInt64(cur, d)
		if !fits {
			return "", false, wrapError(fmt.Sprintf("sessions: Incr of key %q by %d overflows int64", key, d), ErrNotInteger)
		}
		return strconv.FormatInt(n, 10), true, nil
	}
}

// appendFlash appends the encoded flash enc to the list of flashes.
func appendFlash(enc string) step {
	return func(raw string, ok bool) (string, bool, error) {
		if ok && len(raw) > 2 {
			return raw[:len(raw)-1] + "," + enc + "]", true, nil
		}
		return "[" + enc + "]", true, nil
	}
}

// consumeFlashes removes the flashes that Flashes returned, the list
// taken, from the list of flashes. On the list it read, that leaves none.
// On a newer list it removes the longest run at its front that ends the
// list taken: flashes added meanwhile were appended after it, and those a
// concurrent Flashes took already are gone from its front.
func consumeFlashes(taken string) step {
	return func(raw string, ok bool) (string, bool, error) {
		if !ok || raw == taken {
			return "", false, nil
		}
		var old, now []json.RawMessage
		if json.Unmarshal([]byte(taken), &old) != nil || json.Unmarshal([]byte(raw), &now) != nil {
			return "", false, nil // not lists: the flashes were replaced
		}
		k := min(len(old), len(now))
		for ; k > 0; k-- {
			if sameItems(old[len(old)-k:], now[:k]) {
				break
			}
		}
		if k == len(now) {
			return "", false, nil
		}
		b, err := json.Marshal(now[k:])
		if err != nil {
			return "", false, err
		}
		return string(b), true, nil
	}
}

// sameItems reports whether two runs of JSON values hold the same values,
// whatever their spelling (a store may respell JSON, as jsonb does).
func sameItems(a, b []json.RawMessage) bool {
	for i := range a {
		if string(a[i]) == string(b[i]) {
			continue
		}
		var x, y any
		if json.Unmarshal(a[i], &x) != nil || json.Unmarshal(b[i], &y) != nil || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
