//go:build !linux

package mariadbtest

import "syscall"

// serverAttr starts the server as any other child. The kernel cannot tie
// a child's life to its parent's here: only the test's cleanup stops the
// server.
func serverAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
