//go:build !linux

package pgtest

import "syscall"

// serverAttr runs the server as cred. The kernel cannot tie a child's life
// to its parent's here: only the test's cleanup stops the server.
func serverAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
