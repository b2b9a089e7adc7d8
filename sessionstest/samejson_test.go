package sessionstest

import "testing"

func TestSameJSON(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{`{"a":1,"b":[1,2.5,null,true]}`, `{"b": [1, 2.5, null, true], "a": 1}`, true},
		{`1e2`, `100`, true},
		{`1e+21`, `1000000000000000000000`, true},
		{`9223372036854775807`, `9223372036854775806`, false},
		{`"1"`, `1`, false},
		{`{"a":1}`, `{"a":1,"b":2}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`2.5`, `2.50`, true},
		{`not json`, `not json`, true}, // the same text is the same whatever it holds
		{`not json`, `"not json"`, false},
		{`1 2`, `1`, false},
	}
	for _, tt := range tests {
		if got := sameJSON(tt.a, tt.b); got != tt.same {
			t.Errorf("sameJSON(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}
