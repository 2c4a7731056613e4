package poll

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUntilReturnsWhenTrue(t *testing.T) {
	n := 0
	err := Until(context.Background(), time.Second, func() error {
		if n++; n < 3 {
			return fmt.Errorf("only %d", n)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("err %v after %d checks", err, n)
	}
}

func TestUntilTimeoutNamesLastError(t *testing.T) {
	n := 0
	err := Until(context.Background(), 20*time.Millisecond, func() error { n++; return fmt.Errorf("state %d", n) })
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), fmt.Sprintf("state %d", n)) {
		t.Fatalf("err %v, want a timeout naming the last state (%d)", err, n)
	}
}

func TestUntilContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Until(ctx, time.Hour, func() error { return errors.New("never") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

type fakeTB struct{ msg string }

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...) }

func TestCheckForAndCond(t *testing.T) {
	var tb fakeTB
	calls := 0
	CheckFor(&tb, 10*time.Millisecond, Cond(func() bool { return false }, func() string { calls++; return "still 0 of 3" }))
	if !strings.Contains(tb.msg, "still 0 of 3") || calls == 0 {
		t.Fatalf("failure message %q", tb.msg)
	}
	tb.msg = ""
	CheckFor(&tb, time.Second, Cond(func() bool { return true }, func() string { t.Fatal("described a holding condition"); return "" }))
	if tb.msg != "" {
		t.Fatalf("failed: %s", tb.msg)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a sleep without a cancelled context returned false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("a sleep whose context ended returned true")
	}
}
