package sessions

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
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
	return encodeJSON(v)
}

// encodeJSON encodes what has no fast path, refusing what JSON would empty.
func encodeJSON(v any) (string, error) {
	if err := checkLossless(v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// A struct that has fields but none that encoding/json writes (all
// unexported, or tagged "-") encodes as {}: its content would be lost with
// no error, where gob, say, refuses such a type. checkLossless finds such a
// struct anywhere in a value, so that Set fails instead. What it learns of
// a type is kept: most types are judged once, and only the parts of a value
// typed as interfaces are walked on every call.

// verdict is what the type alone says about its values.
type verdict uint8

const (
	lossless verdict = iota // no value of the type loses content
	lossy                   // every value of the type does
	depends                 // it holds interfaces: the values decide
)

// typeInfo is the verdict on one type; for a lossy type, why; for a struct
// that depends, the index paths of the fields JSON writes.
type typeInfo struct {
	verdict verdict
	err     error
	fields  [][]int
}

// typeInfos caches a *typeInfo per reflect.Type.
var typeInfos sync.Map

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// checkLossless returns an error naming the type when v holds a struct
// whose content JSON would drop. The shapes decoded JSON takes,
// map[string]any and []any, are walked without reflection.
func checkLossless(v any) error {
	return checkAny(v, 0)
}

// maxDepth bounds the walk: a value nested deeper is most likely a cycle,
// which encoding/json reports itself.
const maxDepth = 1000

func checkAny(v any, depth int) error {
	if depth > maxDepth {
		return nil
	}
	switch x := v.(type) {
	case nil, string, bool, int, int64, float64:
		return nil
	case map[string]any:
		for _, e := range x {
			if err := checkAny(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for _, e := range x {
			if err := checkAny(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return checkValue(reflect.ValueOf(v), depth)
}

// checkValue checks one value: by its type's verdict, walking it only when
// the verdict depends on what its interfaces hold.
func checkValue(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return nil
	}
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		return checkValue(v.Elem(), depth+1) // not Interface(): v may sit in an unexported embedded struct
	}
	info := infoOf(v.Type())
	switch info.verdict {
	case lossless:
		return nil
	case lossy:
		return info.err
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkValue(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkValue(v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.CanInterface() {
			if m, ok := v.Interface().(map[string]any); ok {
				return checkAny(m, depth) // without reflection's copies
			}
		}
		var it reflect.MapIter
		for it.Reset(v); it.Next(); {
			if err := checkValue(it.Value(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for _, index := range info.fields {
			f, err := v.FieldByIndexErr(index)
			if err != nil {
				continue // behind a nil embedded pointer: JSON writes nothing of it
			}
			if err := checkValue(f, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// infoOf returns the verdict on t, judging it on first sight.
func infoOf(t reflect.Type) *typeInfo {
	if basicKind(t.Kind()) {
		return &losslessInfo
	}
	if info, ok := typeInfos.Load(t); ok {
		return info.(*typeInfo)
	}
	info := judge(t, map[reflect.Type]bool{})
	actual, _ := typeInfos.LoadOrStore(t, info)
	return actual.(*typeInfo)
}

var losslessInfo = typeInfo{verdict: lossless}

// basicKind reports whether values of kind k hold no other values.
func basicKind(k reflect.Kind) bool {
	return k <= reflect.Complex128 || k == reflect.String || k == reflect.Chan || k == reflect.Func || k == reflect.UnsafePointer
}

// judge decides the verdict on t. seen holds the types being judged
// further up, so that a recursive type ends: its own values are judged
// as the walk finds them.
func judge(t reflect.Type, seen map[reflect.Type]bool) *typeInfo {
	if basicKind(t.Kind()) || t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return &losslessInfo
	}
	if seen[t] {
		return &typeInfo{verdict: depends}
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Interface:
		return &typeInfo{verdict: depends}
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return inherit(t, judge(t.Elem(), seen))
	case reflect.Struct:
		fields := jsonFields(t)
		if len(fields) == 0 && t.NumField() > 0 {
			return &typeInfo{verdict: lossy, err: fmt.Errorf("%s has fields but none that JSON encodes (they are unexported, or tagged json:\"-\"), so it would be stored as {}: export them or give the type a MarshalJSON method", t)}
		}
		info := &typeInfo{verdict: lossless, fields: fields}
		for _, index := range fields {
			switch sub := judge(t.FieldByIndex(index).Type, seen); sub.verdict {
			case lossy:
				return inherit(t, sub)
			case depends:
				info.verdict = depends
			}
		}
		if info.verdict == lossless {
			info.fields = nil
		}
		return info
	}
	return &losslessInfo
}

// inherit is the verdict on t, which holds values of a type judged sub.
func inherit(t reflect.Type, sub *typeInfo) *typeInfo {
	if sub.verdict != lossy {
		return &typeInfo{verdict: sub.verdict}
	}
	return &typeInfo{verdict: lossy, err: fmt.Errorf("in %s: %w", t, sub.err)}
}

// jsonFields returns the index paths of the fields of struct type t that
// encoding/json writes: exported fields not tagged "-", and those of
// embedded structs, promoted. Name clashes, which hide fields, are left
// out: they drop content the author named twice.
func jsonFields(t reflect.Type) [][]int {
	var out [][]int
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && ft.Kind() == reflect.Struct && name == "" {
			for _, sub := range jsonFields(ft) {
				out = append(out, append([]int{i}, sub...))
			}
			continue
		}
		if f.IsExported() {
			out = append(out, []int{i})
		}
	}
	return out
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
