package migrate

import (
	"reflect"
	"testing"
)

func TestGorillaValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		old     map[any]any
		values  map[string]any
		flashes []any
	}{
		{"empty", map[any]any{}, map[string]any{}, nil},
		{"string keys", map[any]any{"a": 1, "b": "x"}, map[string]any{"a": 1, "b": "x"}, nil},
		{"other keys printed", map[any]any{7: "seven", true: "yes"}, map[string]any{"7": "seven", "true": "yes"}, nil},
		{"a string key wins", map[any]any{7: "int", "7": "string"}, map[string]any{"7": "string"}, nil},
		{"flashes apart", map[any]any{"_flash": []any{"hi", 2}, "errors": []any{"e"}}, map[string]any{"errors": []any{"e"}}, []any{"hi", 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values, flashes := gorillaValues(tc.old)
			if !reflect.DeepEqual(values, tc.values) || !reflect.DeepEqual(flashes, tc.flashes) {
				t.Fatalf("got %v and flashes %v, want %v and %v", values, flashes, tc.values, tc.flashes)
			}
		})
	}
}
