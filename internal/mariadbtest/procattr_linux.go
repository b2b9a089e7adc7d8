package mariadbtest

import "syscall"

// serverAttr makes the kernel kill the server if the test binary dies
// first (a panic, a -timeout, a signal), when no cleanup runs to stop it.
func serverAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
