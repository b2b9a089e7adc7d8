package sessions

import (
	"encoding/base64"
	"strings"
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

func TestTaggedToken(t *testing.T) {
	tok := newTaggedToken("0az9")
	if !validToken(tok) || !strings.HasPrefix(tok, "0az9.") {
		t.Fatalf("tagged token %q: invalid or without its tag", tok)
	}
	id := storeID(tok)
	if want := "0az9." + digest(tok); id != want {
		t.Fatalf("storeID(%q) = %q, want %q", tok, id, want)
	}
	if len(storeID(newTaggedToken(strings.Repeat("z", maxTagLen)))) != 81 {
		t.Fatalf("the longest id is not 81 bytes")
	}
	if plain := newTaggedToken(""); strings.Contains(plain, ".") || !validToken(plain) {
		t.Fatalf("newTaggedToken(\"\") = %q, want a plain token", plain)
	}
}

func TestValidTokenRejects(t *testing.T) {
	body := newToken()
	for _, tc := range []struct{ name, token string }{
		{"empty", ""},
		{"short", body[:42]},
		{"long", body + "A"},
		{"empty tag", "." + body},
		{"uppercase tag", "AB." + body},
		{"tag too long", strings.Repeat("a", maxTagLen+1) + "." + body},
		{"symbol in tag", "a-b." + body},
		{"two dots", "ab.cd." + body},
		{"dot in body", "ab." + body[:20] + "." + body[21:]},
		{"braces", "{ab}." + body},
	} {
		if validToken(tc.token) {
			t.Errorf("%s: validToken(%q) = true", tc.name, tc.token)
		}
	}
}
