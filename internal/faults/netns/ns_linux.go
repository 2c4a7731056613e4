package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

func checkOS() error { return nil }

// Do runs f on an OS thread that has entered node i's namespace, and
// brings the thread back: sockets f creates live in node i's namespace
// (they stay there after Do returns). f must not start goroutines that
// create sockets.
func (nt *Net) Do(i int, f func() error) error {
	if err := nt.check(i); err != nil {
		return err
	}
	return doIn("/run/netns/"+nt.Namespace(i), f)
}

func doIn(path string, f func() error) (err error) {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	defer orig.Close()
	if err := setns(path); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() {
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
			// The thread stays in the wrong namespace: keep it locked, so
			// that the runtime ends it with this goroutine instead of
			// reusing it.
			err = fmt.Errorf("%w: setns back: %v", ErrUnsupported, serr)
			return
		}
		runtime.UnlockOSThread()
	}()
	return f()
}

// setns moves the calling thread into the network namespace at path.
func setns(path string) error {
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("%w: setns %s: %v", ErrUnsupported, path, err)
	}
	return nil
}

// Dialer returns a DialContext whose connections start in node i's
// namespace (for an http.Transport that reaches an agent's admin API).
func (nt *Net) Dialer(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := nt.Do(i, func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
