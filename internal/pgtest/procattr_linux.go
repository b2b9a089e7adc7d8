package pgtest

import "syscall"

// serverAttr runs the server as cred and makes the kernel stop it if the
// test binary dies first (a panic, a -timeout, a signal), when no cleanup
// runs to stop it.
func serverAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
