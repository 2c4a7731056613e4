// Package poll is the repository's one polling check: wait until a
// condition holds, with a deadline, never a fixed sleep (nats-server's
// checkFor). Until serves code that must not link package testing (bench,
// the demo); CheckFor serves tests through a small interface that
// testing.TB satisfies. Sleep is the one back-off wait of a retry loop.
package poll

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Interval is how often a condition is re-checked.
const Interval = 5 * time.Millisecond

// ErrTimeout: the condition did not hold before the deadline.
var ErrTimeout = errors.New("poll: timed out")

// Until calls f every Interval until it returns nil, ctx ends or timeout
// passes. The error then wraps ErrTimeout (or ctx's error) and f's last
// error, which says what was still missing.
func Until(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w after %v: %w", ErrTimeout, timeout, err)
		}
		t.Reset(Interval)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// TB is what CheckFor needs of a test (testing.TB has it).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// CheckFor fails t unless f returns nil within timeout; the failure names
// f's last error.
func CheckFor(t TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := Until(context.Background(), timeout, f); err != nil {
		t.Fatalf("%v", err)
	}
}

// Cond adapts a boolean condition: f's error is what (a description of the
// state, computed only when the condition does not hold).
func Cond(cond func() bool, what func() string) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errors.New(what())
	}
}

// Sleep waits d, or until ctx ends (false then): a retry's back-off.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
