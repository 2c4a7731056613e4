// Package leakcheck checks that tests leave no goroutine behind, for code
// built on Serf and memberlist: they end some goroutines asynchronously
// after Shutdown (connection handlers, suspicion timers), so the check polls
// for a while instead of looking once.
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Wait polls until no goroutine is left over (goleak.Find with opts) or d
// has passed, and returns the last finding (nil if none).
func Wait(d time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(d)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Verify fails t if goroutines are still left over after d.
func Verify(t testing.TB, d time.Duration, opts ...goleak.Option) {
	t.Helper()
	if err := Wait(d, opts...); err != nil {
		t.Error(err)
	}
}

// Main runs the tests and, if they passed, fails the run when goroutines are
// still left over after d. Use it as os.Exit(leakcheck.Main(m, d)) in
// TestMain.
func Main(m *testing.M, d time.Duration) int {
	code := m.Run()
	if code == 0 {
		if err := Wait(d); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}
