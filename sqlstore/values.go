package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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
	if err := checkJSON(set); err != nil {
		return "", err
	}
	size := 2
	for k, v := range set {
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

// checkJSON refuses, naming its key, a value that is not JSON text: it
// would corrupt the row's object, or be stored as a string.
func checkJSON(set map[string]string) error {
	for k, v := range set {
		if !json.Valid([]byte(v)) {
			return fmt.Errorf("sessions: sql save: the value of %q is not JSON text", k)
		}
	}
	return nil
}

// writeMember writes a comma unless the member is the first, then key as a
// JSON string and a colon.
func writeMember(b *strings.Builder, key string) {
	if b.Len() > 1 {
		b.WriteByte(',')
	}
	writeString(b, key)
	b.WriteByte(':')
}

// writeString writes s as a JSON string with the fewest escapes: only the
// quote, the backslash and control characters. A key is written the same
// way in a row's object and in the paths that address it (see keyPath):
// MariaDB matches a path's key to an object's member by their text, escapes
// included, so both must spell it alike.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// keyPath is the JSON path of the member key of the row's object: $."key",
// the key quoted so that any key is one member, dots and all.
func keyPath(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 4)
	b.WriteString("$.")
	writeString(&b, key)
	return b.String()
}

// errNotObject is why a row whose data is not a JSON object is corrupted.
var errNotObject = errors.New("data is not a JSON object")

// decodeValues turns a row's data back into the middleware's values, each
// key's JSON text as the database wrote it: the same value as was saved,
// though MySQL spaces it differently.
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

// checkText refuses, naming the key, what the databases cannot store or
// address: text that is not UTF-8 (MySQL's utf8mb4 refuses it) and a NUL
// byte in a key or the principal (SQLite's JSON paths end at one). Checking
// here, before the statement, keeps the record as it was and says which
// key is at fault.
func checkText(ch sessions.Change) error {
	for k, v := range ch.Set {
		if err := checkKey(k); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("sessions: sql save: the value of %q is not valid UTF-8", k)
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
		return fmt.Errorf("sessions: sql save: the principal %q is not valid UTF-8 without NUL characters", ch.Principal)
	}
	return nil
}

// storableText is s as a text column can hold it: invalid UTF-8 replaced
// by U+FFFD and NUL characters dropped. It is for what the client sent
// (its User-Agent), which a session keeps for display only and must not
// make a login fail.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func checkKey(k string) error {
	if !utf8.ValidString(k) {
		return fmt.Errorf("sessions: sql save: the key %q is not valid UTF-8", k)
	}
	if strings.IndexByte(k, 0) >= 0 {
		return fmt.Errorf("sessions: sql save: the key %q holds the character U+0000, which a JSON path cannot name", k)
	}
	return nil
}

// incrementable reports whether the JSON text v (absent when !ok) can be
// incremented by d: an integer written as one, whose sum with d fits an
// int64. It tells, after the database refused an increment, which keys
// were in the way.
func incrementable(v string, ok bool, d int64) bool {
	if !ok {
		return true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	sum := n + d
	return (d >= 0) == (sum >= n)
}

// checkExpect refuses an expected value that is neither "" (absent) nor
// JSON text.
func checkExpect(expect map[string]string) error {
	for k, v := range expect {
		if err := checkKey(k); err != nil {
			return err
		}
		if v != "" && !json.Valid([]byte(v)) {
			return fmt.Errorf("sessions: sql save: the expected value of %q is not JSON text", k)
		}
	}
	return nil
}

// expectationsHold reports whether values, as decodeValues returns them,
// meet expect: each key absent where "" is expected, otherwise holding the
// same JSON value, compared as values (spacing, member order and the
// spelling of numbers and strings aside).
func expectationsHold(values, expect map[string]string) bool {
	for k, want := range expect {
		got, ok := values[k]
		if want == "" {
			if ok {
				return false
			}
			continue
		}
		if !ok || !sameJSON(got, want) {
			return false
		}
	}
	return true
}

// sameJSON reports whether the JSON texts a and b hold the same value.
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	va, errA := decodeAny(a)
	vb, errB := decodeAny(b)
	return errA == nil && errB == nil && equalJSON(va, vb)
}

func decodeAny(text string) (any, error) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// equalJSON compares decoded JSON values, numbers by their value.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == b {
			return true
		}
		if !smallExponent(a) || !smallExponent(b) {
			return false // 1e1000000 would take big.Rat megabytes
		}
		ra, okA := new(big.Rat).SetString(string(a))
		rb, okB := new(big.Rat).SetString(string(b))
		return okA && okB && ra.Cmp(rb) == 0
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equalJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	default: // string, bool, nil
		return a == b
	}
}

// smallExponent reports whether the number n has no exponent, or one of at
// most four digits.
func smallExponent(n json.Number) bool {
	i := strings.IndexAny(string(n), "eE")
	if i < 0 {
		return true
	}
	digits := strings.TrimLeft(strings.TrimLeft(string(n[i+1:]), "+-"), "0")
	return len(digits) <= 4
}
