//go:build unix

package names

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// pidAlive reports whether a process with pid exists (signal 0; EPERM
// means it exists but belongs to someone else).
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// checkOwner refuses a names directory owned by another user.
func checkOwner(dir string, st fs.FileInfo) error {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s belongs to uid %d, not to us (%d)", ErrDir, dir, sys.Uid, os.Getuid())
	}
	return nil
}
