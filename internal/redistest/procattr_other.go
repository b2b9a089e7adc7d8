//go:build !linux

package redistest

import "os/exec"

// dieWithTest does nothing where the kernel cannot tie a child's life to its
// parent's: only the test's cleanup stops the server.
func dieWithTest(*exec.Cmd) {}
