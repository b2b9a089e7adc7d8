package sessions

import "testing"

type benchLine struct {
	SKU   string `json:"sku"`
	Count int    `json:"count"`
}

type benchOrder struct {
	Lines []benchLine    `json:"lines"`
	Meta  map[string]any `json:"meta"`
}

// BenchmarkEncodeValue measures what Set does to a value before the
// session holds it, for each common shape.
func BenchmarkEncodeValue(b *testing.B) {
	values := []struct {
		name  string
		value any
	}{
		{"string", "hello"},
		{"int", 42},
		{"struct", benchLine{SKU: "b-1", Count: 2}},
		{"nested", benchOrder{Lines: []benchLine{{"a", 1}, {"b", 2}}, Meta: map[string]any{"source": "web", "n": 3}}},
		{"map", map[string]any{"theme": "dark", "size": 12, "tags": []any{"a", "b"}}},
	}
	for _, v := range values {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeValue(v.value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
