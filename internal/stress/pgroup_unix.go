//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts go test and the test binaries it starts into their
// own process group, and makes cancelling the command kill that group, so
// an interrupted stress run leaves nothing running.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
