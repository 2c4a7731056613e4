package globalcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
)

// Environment variables `placer lock run` gives the command.
const (
	EnvToken  = "PLACER_FENCING_TOKEN" // the grant's fencing token, decimal
	EnvLockID = "PLACER_LOCK_ID"
)

// maxLockWait bounds a wait "as long as it takes".
const maxLockWait = 24 * time.Hour

// killGrace is how long a command whose lock was lost gets after SIGTERM
// before SIGKILL.
const killGrace = 5 * time.Second

func lockCommands() []Command {
	return []Command{
		{Name: "lock run", Summary: "run a command while holding a cluster lock (like flock(1); token in PLACER_FENCING_TOKEN)",
			Line: "lock run ID [--wait D | --nonblock] [flags] -- CMD [ARGS...]",
			About: "Takes the global lock ID (waiting first come, first served), runs CMD with the grant's fencing token in\n" +
				"$PLACER_FENCING_TOKEN (and ID in $PLACER_LOCK_ID), and releases the lock when CMD exits. The lock is held by a\n" +
				"session on the agent that ends if this command dies or its connection breaks; if the lock is lost while CMD\n" +
				"runs (the agent went away, a heal gave it to a larger token), CMD gets SIGTERM (SIGKILL 5 s later) and placer\n" +
				"exits 1. Exit status: 0 if CMD succeeded, 1 if it failed or the lock could not be had.",
			Short: "placer lock run ID -- CMD...", MinArgs: 2, MaxArgs: 1 << 16, Flags: lockRunFlags},
		{Name: "lock status", Summary: "show a lock's holder, fencing token and waiters", Line: "lock status ID [--json] [flags]",
			About: "Asks the authority of lock ID for its holder, nesting count, token, last token and queue.",
			Short: "placer lock status ID", MinArgs: 1, MaxArgs: 1, Flags: noFlags(lockStatus)},
	}
}

func lockRunFlags(fs *flag.FlagSet) Runner {
	wait := fs.Duration("wait", 0, "give up if the lock is not had within this long (0: wait as long as it takes)")
	nonblock := fs.Bool("nonblock", false, "fail at once if the lock is held (flock -n)")
	return runner(func(e Env) error {
		if *wait < 0 || e.Timeout <= 0 {
			return fmt.Errorf("%w: --wait must not be negative, --timeout must be positive", e.Usage)
		}
		w := global.Forever
		switch {
		case *nonblock:
			w = 0
		case *wait > 0:
			w = *wait
		}
		return lockRun(e, w)
	})
}

func lockRun(e Env, wait time.Duration) error {
	cl, err := e.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := takeLock(ctx, e, cl, wait)
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), e.Timeout)
		_ = l.Release(rctx)
		cancel()
	}()
	return runLocked(ctx, e, l)
}

func takeLock(ctx context.Context, e Env, cl *placement.Client, wait time.Duration) (*global.RemoteLock, error) {
	bound := maxLockWait
	if wait >= 0 {
		bound = wait + e.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	return global.NewRemote(cl).Lock(ctx, e.Pos[0], wait)
}

// runLocked runs the command and waits for it, stopping it if the lock is
// lost or placer is interrupted.
func runLocked(ctx context.Context, e Env, l *global.RemoteLock) error {
	cmd := exec.Command(e.Pos[1], e.Pos[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, e.Out, e.Err
	cmd.Env = append(os.Environ(), EnvToken+"="+strconv.FormatUint(l.Token, 10), EnvLockID+"="+l.ID)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return commandErr(err)
	case r := <-l.Lost():
		stopCommand(cmd, done)
		return l.LostError(r)
	case <-ctx.Done():
		stopCommand(cmd, done)
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
}

// stopCommand sends SIGTERM, then SIGKILL after killGrace, and waits.
func stopCommand(cmd *exec.Cmd, done <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
	}
}

func commandErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("command failed: %s", ee.ProcessState)
	}
	return err
}

func lockStatus(ctx context.Context, e Env, cl *placement.Client) error {
	l, err := global.NewRemote(cl).LockStatus(ctx, e.Pos[0])
	if err != nil {
		return err
	}
	if e.JSON {
		return e.printJSON(l)
	}
	if l.Holder.IsZero() {
		fmt.Fprintf(e.Out, "%s: free (last token %d)\n", e.Pos[0], l.LastToken)
	} else {
		fmt.Fprintf(e.Out, "%s: held by %s (count %d), token %d\n", e.Pos[0], l.Holder, l.Count, l.Token)
	}
	for i, w := range l.Waiters {
		fmt.Fprintf(e.Out, "  waiter %d: %s since %s\n", i+1, w.Requester, w.Since.UTC().Format(time.RFC3339Nano))
	}
	_, err = fmt.Fprintf(e.Out, "(authority on %s)\n", l.Authority)
	return err
}
