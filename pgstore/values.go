package pgstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ginsessions/sessions"
)

// valuesObject writes the session values as one JSON object, each key's
// value being its JSON text as the middleware encoded it, followed by the
// increments as plain integers (a new record's increments start from 0).
// Each value is checked first: one that is not JSON text would corrupt the
// object, so it is refused, naming its key, and nothing is saved.
func valuesObject(set map[string]string, incr map[string]int64) (string, error) {
	if len(set) == 0 && len(incr) == 0 {
		return "{}", nil
	}
	size := 2
	for k, v := range set {
		if !json.Valid([]byte(v)) {
			return "", fmt.Errorf("sessions: postgres save: the value of %q is not JSON text", k)
		}
		size += len(k) + len(v) + 4
	}
	var b strings.Builder
	b.Grow(size + 24*len(incr))
	b.WriteByte('{')
	for k, v := range set {
		writeMember(&b, k)
		b.WriteString(v)
	}
	for k, d := range incr {
		writeMember(&b, k)
		b.WriteString(strconv.FormatInt(d, 10))
	}
	b.WriteByte('}')
	return b.String(), nil
}

// writeMember writes a comma unless the member is the first, then key as a
// JSON string and a colon.
func writeMember(b *strings.Builder, key string) {
	if b.Len() > 1 {
		b.WriteByte(',')
	}
	quoted, _ := json.Marshal(key) // a string always marshals
	b.Write(quoted)
	b.WriteByte(':')
}

// errNotObject is why a row whose data is not a JSON object is corrupted.
var errNotObject = errors.New("data is not a JSON object")

// decodeValues turns a row's data back into the middleware's values, each
// key's JSON text as PostgreSQL renders it: the same value as was saved,
// though jsonb may space it and order an object's keys differently.
func decodeValues(data []byte) (map[string]string, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotObject, err)
	}
	if members == nil { // JSON null
		return nil, errNotObject
	}
	values := make(map[string]string, len(members))
	for k, v := range members {
		values[k] = string(v)
	}
	return values, nil
}

// checkText refuses, naming the key, what PostgreSQL cannot store: text
// that is not UTF-8, a NUL byte in a key, and the JSON escape \u0000 in a
// value (jsonb has no NUL character). Checking here, before the statement,
// keeps the record as it was and says which key is at fault.
func checkText(ch sessions.Change) error {
	for k, v := range ch.Set {
		if err := checkKey(k); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("sessions: postgres save: the value of %q is not valid UTF-8", k)
		}
		if holdsNULEscape(v) {
			return fmt.Errorf("sessions: postgres save: the value of %q holds the character U+0000, which PostgreSQL's jsonb cannot store", k)
		}
	}
	for _, k := range ch.Delete {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	for k := range ch.Incr {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	if !utf8.ValidString(ch.Principal) || strings.IndexByte(ch.Principal, 0) >= 0 {
		return fmt.Errorf("sessions: postgres save: the principal %q is not valid UTF-8 without NUL characters, which PostgreSQL needs", ch.Principal)
	}
	return nil
}

// storableText is s as PostgreSQL's text can hold it: invalid UTF-8
// replaced by U+FFFD and NUL characters dropped. It is for what the client
// sent (its User-Agent), which a session keeps for display only and must
// not make a login fail.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func checkKey(k string) error {
	if !utf8.ValidString(k) {
		return fmt.Errorf("sessions: postgres save: the key %q is not valid UTF-8", k)
	}
	if strings.IndexByte(k, 0) >= 0 {
		return fmt.Errorf("sessions: postgres save: the key %q holds the character U+0000, which PostgreSQL cannot store", k)
	}
	return nil
}

// holdsNULEscape reports whether the JSON text holds the escape \u0000: a
// backslash that starts an escape (after an even number of backslashes),
// followed by u0000.
func holdsNULEscape(text string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], `\u0000`)
		if j < 0 {
			return false
		}
		at := i + j
		before := 0
		for at-before > 0 && text[at-before-1] == '\\' {
			before++
		}
		if before%2 == 0 {
			return true
		}
		i = at + 1
	}
}
