package par

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestForEachRunsEveryIndexOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, c := range []struct{ n, workers int }{{0, 4}, {1, 16}, {7, 3}, {1000, 16}, {5, 0}} {
		seen := make([]atomic.Int32, c.n)
		if err := ForEach(context.Background(), c.n, c.workers, func(i int) error { seen[i].Add(1); return nil }); err != nil {
			t.Fatalf("n=%d workers=%d: %v", c.n, c.workers, err)
		}
		for i := range seen {
			if got := seen[i].Load(); got != 1 {
				t.Fatalf("n=%d workers=%d: index %d ran %d times", c.n, c.workers, i, got)
			}
		}
	}
}

func TestForEachStopsAtErrorAndCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	boom := errors.New("boom")
	var ran atomic.Int32
	err := ForEach(context.Background(), 100, 1, func(i int) error {
		ran.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() != 11 {
		t.Fatalf("err %v after %d calls, want boom after 11", err, ran.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ForEach(ctx, 100, 4, func(int) error { t.Error("ran after cancel"); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
