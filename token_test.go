package sessions

import (
	"encoding/base64"
	"testing"
)

func TestTokenShape(t *testing.T) {
	if got := base64.RawURLEncoding.EncodedLen(tokenBytes); got != tokenLen {
		t.Fatalf("tokenLen = %d, want %d", tokenLen, got)
	}
	seen := map[string]bool{}
	for range 100 {
		tok := newToken()
		if !validToken(tok) || seen[tok] {
			t.Fatalf("token %q invalid or repeated", tok)
		}
		seen[tok] = true
		if id := storeID(tok); len(id) != 64 || id == storeID(tok+"x") {
			t.Fatalf("storeID(%q) = %q", tok, id)
		}
	}
}
