package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// tokenBytes is the entropy of a session token: 256 bits, twice what OWASP
// ASVS asks for.
const tokenBytes = 32

// tokenLen is the length of a token in unpadded URL-safe base64.
const tokenLen = 43

// newToken returns a fresh random session token.
func newToken() string {
	var b [tokenBytes]byte
	// crypto/rand.Read never returns an error and panics if the system's
	// randomness is broken, which is the right outcome for a session key.
	_, _ = rand.Read(b[:])
	var text [43]byte // base64.RawURLEncoding.EncodedLen(tokenBytes)
	base64.RawURLEncoding.Encode(text[:], b[:])
	return string(text[:])
}

// maxTagLen bounds the tag that a logged-in session's token may start with
// (see UserStore.UserTag).
const maxTagLen = 16

// newTaggedToken returns a fresh token that starts with tag and a dot, or a
// plain token when tag is "".
func newTaggedToken(tag string) string {
	if tag == "" {
		return newToken()
	}
	return tag + "." + newToken()
}

// validTag reports whether tag is a tag a UserStore may return: 1 to
// maxTagLen characters from [0-9a-z].
func validTag(tag string) bool {
	if tag == "" || len(tag) > maxTagLen {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// splitTag splits a token or an id at its first dot: into its tag and the
// rest, or ("", s, false) when it has no dot.
func splitTag(s string) (tag, rest string, tagged bool) {
	tag, rest, tagged = strings.Cut(s, ".")
	if !tagged {
		return "", s, false
	}
	return tag, rest, true
}

// validToken reports whether s has the shape of a token this package
// issues: 43 characters of URL-safe base64, possibly after a tag and a dot.
// Anything else is rejected before the store is asked about it.
func validToken(s string) bool {
	tag, s, tagged := splitTag(s)
	if tagged && !validTag(tag) || len(s) != tokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// storeID is the key a store files a session under: the SHA-256 digest of
// its token, so that whoever reads the store learns no live token, after
// the token's tag and dot when it has one.
func storeID(token string) string {
	if tag, _, tagged := splitTag(token); tagged {
		return tag + "." + digest(token)
	}
	return digest(token)
}

// digest is the lowercase hex SHA-256 digest of token.
func digest(token string) string {
	var sum [sha256.Size]byte
	if len(token) == tokenLen {
		// Hashing from a stack copy spares the heap copy that
		// []byte(token) would make.
		var in [tokenLen]byte
		copy(in[:], token)
		sum = sha256.Sum256(in[:])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:])
}
