package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel kill the server if the test binary dies
// first (a panic, a -timeout, a signal), when no cleanup runs to stop it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
