package sessions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The Redis layout: one hash per session, small enough for Redis's compact
// listpack encoding (at most hash-max-listpack-entries fields, 128 by
// default, and no value longer than hash-max-listpack-value, 64 bytes), which
// takes about a third of the memory of a hashtable.
//
// Each session key is a field holding the value's JSON text. The store's own
// fields are named "@" and one letter and hold integers, which a listpack
// keeps in 1 to 9 bytes and the scripts compare as numbers. Times are Unix
// milliseconds; only the creation time is absolute, the others are counted
// from an earlier one, so that they stay small. A field that would hold 0 is
// left out.
const (
	fieldUUID     = "@u" // the UUID's 16 bytes
	fieldUUIDText = "@t" // instead of @u, a UUID that is not in canonical form
	fieldCreated  = "@c" // when the session was first saved
	fieldSaved    = "@s" // when it was last saved, after @c; absent: 0
	fieldSeen     = "@l" // when it was last seen, after @s; absent: 0
	fieldExpires  = "@x" // when it expires, after @s; the key's TTL follows it
	fieldPolicy   = "@p" // the policy set by Session.SetExpiry, in nanoseconds; absent: 0
)

// storeMark starts the names of the store's fields. A session key that
// starts with it is stored with one more in front, so no session key can
// take the name of a store's field: "@x" is kept as "@@x".
const storeMark = '@'

// fieldName is the hash field that holds session key k.
func fieldName(k string) string {
	if len(k) > 0 && k[0] == storeMark {
		return string(storeMark) + k
	}
	return k
}

// keyOfField is the session key held in field f, or ok == false when f is
// one of the store's own fields.
func keyOfField(f string) (k string, ok bool) {
	if len(f) == 0 || f[0] != storeMark {
		return f, true
	}
	if len(f) > 1 && f[1] == storeMark {
		return f[1:], true
	}
	return "", false
}

// keyDigestCut is how many hex digits of an id the key leaves out. A store
// id ends in the 64 hex digits of a SHA-256 digest; its first 128 bits are
// as good a name as the whole (finding a token for a given 128-bit name
// takes 2^128 tries), and the shorter key saves 32 bytes a session.
const keyDigestCut = 32

// redisKeyOf is the key that holds the record of id: prefix, then id less
// the last keyDigestCut hex digits of its digest. A logged-in session's id
// starts with its user's tag, which goes in braces after the prefix, as a
// hash tag (see redisusers.go). An id that does not end in 64 hex digits is
// kept whole.
func redisKeyOf(prefix, id string) string {
	if tag, rest, tagged := splitTag(id); tagged && validTag(tag) {
		return redisKeyOf(prefix+"{"+tag+"}", rest)
	}
	if len(id) < 2*keyDigestCut || !isLowerHex(id[len(id)-2*keyDigestCut:]) {
		return prefix + id
	}
	return prefix + id[:len(id)-keyDigestCut]
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// redisMillis is t in Unix milliseconds, rounded down.
func redisMillis(t time.Time) int64 { return t.UnixMilli() }

// expireAtMillis is t in Unix milliseconds rounded up, so that Redis never
// forgets a record before Load would, and at least 1, a time long past, so
// that PEXPIREAT deletes a record that is already expired at once.
func expireAtMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return max(ms, 1)
}

// uuidField is the field and value that keep a record's UUID: its 16 bytes
// when it is in the canonical form that Session.UUID has (uuid.NewString's:
// 36 characters, lowercase), its text otherwise, so that nothing is lost.
func uuidField(text string) (string, any) {
	u, err := uuid.Parse(text)
	// Parse also takes upper case, braces, a urn:uuid: prefix or no dashes;
	// only the canonical form comes back from the 16 bytes as it was.
	if err != nil || len(text) != 36 || strings.ToLower(text) != text {
		return fieldUUIDText, text
	}
	return fieldUUID, u[:]
}

// decodeRedisRecord turns a session hash into a Record, or says why it is
// malformed. The Record's Values is fields itself, less the store's fields:
// the map is the caller's and nothing else holds it, so a copy would be
// waste. Fields named like the store's but unknown are ignored, so that a
// later version may add some.
func decodeRedisRecord(fields map[string]string) (Record, error) {
	var d recordDecoder
	var escaped []string
	for f, v := range fields {
		k, ok := keyOfField(f)
		if ok {
			if !json.Valid([]byte(v)) {
				return Record{}, fmt.Errorf("field %q does not hold JSON text", f)
			}
			if k != f {
				escaped = append(escaped, f)
			}
			continue
		}
		d.field(f, v)
		delete(fields, f)
	}
	for _, f := range escaped {
		fields[f[1:]] = fields[f]
		delete(fields, f)
	}
	rec, err := d.record()
	rec.Values = fields
	return rec, err
}

// recordDecoder gathers the store's fields of one record.
type recordDecoder struct {
	principal, ip                      string
	agent                              [len(fieldsAgent)]string
	uuid                               string
	created, saved, seen, expires, pol int64
	hasUUID, hasCreated, hasExpires    bool
	err                                error
}

func (d *recordDecoder) field(f, v string) {
	switch f {
	case fieldUUID:
		u, err := uuid.FromBytes([]byte(v))
		if err != nil && d.err == nil {
			d.err = fmt.Errorf("field %s holds %d bytes, not the 16 of a UUID", f, len(v))
		}
		d.uuid, d.hasUUID = u.String(), true
		return
	case fieldUUIDText:
		d.uuid, d.hasUUID = v, true
		return
	case fieldPrincipal:
		d.principal = v
		return
	case fieldIP:
		d.ip = v
		return
	case fieldsAgent[0], fieldsAgent[1], fieldsAgent[2], fieldsAgent[3]:
		d.agent[f[len(f)-1]-'1'] = v
		return
	}
	var dst *int64
	switch f {
	case fieldCreated:
		dst, d.hasCreated = &d.created, true
	case fieldSaved:
		dst = &d.saved
	case fieldSeen:
		dst = &d.seen
	case fieldExpires:
		dst, d.hasExpires = &d.expires, true
	case fieldPolicy:
		dst = &d.pol
	default:
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("field %s holds %q, not an integer", f, v)
	}
	*dst = n
}

// record checks what field gathered and builds the Record's bookkeeping.
func (d *recordDecoder) record() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	var missing []string
	for _, m := range []struct {
		name string
		has  bool
	}{{fieldUUID, d.hasUUID}, {fieldCreated, d.hasCreated}, {fieldExpires, d.hasExpires}} {
		if !m.has {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return Record{}, fmt.Errorf("field %s missing (a record of another layout?)", strings.Join(missing, ", "))
	}
	saved := d.created + d.saved
	return Record{
		UUID:      d.uuid,
		Created:   time.UnixMilli(d.created),
		Saved:     time.UnixMilli(saved),
		LastSeen:  time.UnixMilli(saved + d.seen),
		Expires:   time.UnixMilli(saved + d.expires),
		Expiry:    time.Duration(d.pol),
		Principal: d.principal,
		IP:        d.ip,
		UserAgent: strings.Join(d.agent[:], ""),
	}, nil
}
