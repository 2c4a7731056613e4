package netns

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CleanupStale deletes the namespaces of this package whose creating
// process is gone (a harness killed before its Close ran), after killing
// what still runs in them, and returns their names. Namespaces of live
// processes are left alone. Idempotent: a second call finds nothing.
func CleanupStale(ctx context.Context) ([]string, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	have, err := List(ctx)
	if err != nil {
		return nil, err
	}
	var stale []string
	for ns := range have {
		if pid, ok := creator(ns); ok && !alive(pid) {
			stale = append(stale, ns)
		}
	}
	return stale, removeAll(stale)
}

// creator parses the creating pid out of a namespace name of this
// package ("plf<pid>x...").
func creator(ns string) (int, bool) {
	rest, ok := strings.CutPrefix(ns, namePrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "x")
	pid, err := strconv.Atoi(digits)
	return pid, ok && err == nil && pid > 0
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killIn SIGKILLs (after SIGCONT, for stopped ones) every process in
// namespace ns and waits briefly for them to go.
func killIn(ctx context.Context, ns string) {
	pids := pidsIn(ctx, ns)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(pidsIn(ctx, ns)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// pidsIn lists the processes in namespace ns (`ip netns pids`), not this
// one.
func pidsIn(ctx context.Context, ns string) []int {
	out, err := output(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}
