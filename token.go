package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// validToken reports whether s has the shape of a token this package
// issues. Anything else is rejected before the store is asked about it.
func validToken(s string) bool {
	if len(s) != tokenLen {
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
// its token, so that whoever reads the store learns no live token.
func storeID(token string) string {
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
