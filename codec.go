package sessions

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Session values are stored as JSON text, Django's default serializer, so
// that a store's contents stay readable. The common scalar types take fast
// paths that produce exactly what encoding/json would.

// encodeValue returns v as JSON text.
func encodeValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		if plainString(x) {
			return `"` + x + `"`, nil
		}
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// plainString reports whether s can be quoted as JSON without escapes.
// encoding/json escapes <, > and & for HTML safety; so does this.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// decodeValue turns JSON text back into a Go value: integers become int
// (exactly, never through float64), other numbers float64, strings string,
// objects map[string]any and arrays []any, recursively.
func decodeValue(raw string) (any, bool) {
	switch raw {
	case "null":
		return nil, true
	case "true":
		return true, true
	case "false":
		return false, true
	}
	if n, ok := decodeInt64(raw); ok {
		return int(n), true
	}
	if s, ok := decodeString(raw); ok {
		return s, true
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return normalizeNumbers(v), true
}

// normalizeNumbers replaces every json.Number in v by an int, a uint64 (for
// integers above math.MaxInt64) or a float64.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// decodeString returns the string a JSON string literal holds.
func decodeString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 && strings.IndexByte(inner, '"') < 0 {
		return inner, true
	}
	var s string
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeInt64 reads integer text exactly as Redis's HINCRBY does: an
// optional minus sign and digits, without a leading zero, a plus sign or
// "-0", within the int64 range. A number in float notation (3.0, 1e3) is
// not an integer, so that GetInt, Incr and every store agree on what Incr
// may add to.
func decodeInt64(raw string) (int64, bool) {
	digits := strings.TrimPrefix(raw, "-")
	if digits == "" || digits[0] < '0' || digits[0] > '9' || (digits[0] == '0' && len(raw) > 1) {
		return 0, false
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	return n, err == nil
}

// addInt64 returns a+b and whether it fits in an int64.
func addInt64(a, b int64) (int64, bool) {
	n := a + b
	return n, (n > a) == (b > 0)
}

// decodeFloat64 reads any JSON number.
func decodeFloat64(raw string) (float64, bool) {
	if raw == "" || !(raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(raw, 64)
	return f, err == nil
}

// decodeTime reads a time written by encoding/json (RFC 3339).
func decodeTime(raw string) (time.Time, bool) {
	s, ok := decodeString(raw)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// decodeInto unmarshals raw into a new T.
func decodeInto[T any](raw string) (T, bool) {
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		var zero T
		return zero, false
	}
	return v, true
}
