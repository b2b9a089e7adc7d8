package sessions

import (
	"testing"
	"unsafe"
)

// What the middleware allocates for a request that never touches its
// session is one requestState: benchmarks/README.md counts its bytes.
func TestRequestStateFitsItsSizeClass(t *testing.T) {
	const sizeClass = 384
	if n := unsafe.Sizeof(requestState{}); n > sizeClass {
		t.Fatalf("requestState takes %d bytes: over the %d-byte size class benchmarks/README.md promises", n, sizeClass)
	}
}
