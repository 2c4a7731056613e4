package placement_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placerhq/placer/placement/placementtest"
)

// TestReplicatedSplitHealSettles: R = 2, calls flowing from both sides
// throughout; a 2|3 split whose views arrive one node at a time (each side
// drops the other and promotes the backups it holds), then a heal whose
// views arrive the same way: every key ends on exactly one node, and
// answers.
func TestReplicatedSplitHealSettles(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(5, replicas(2))
	setView(cs, cs...)
	const keys = 40
	createKeys(t, cs[0], kindCounter, keys)
	incAll(t, cs[0], keys, 1)

	var calls atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // through one node of each side, the split and the heal
		defer close(done)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, _ = cs[(n%2)*3].Call(ctx, kindCounter, keyName(n%keys), []byte("inc")) // either side may refuse some
			cancel()
			calls.Add(1)
		}
	}()
	defer func() { close(stop); <-done }()
	atLeast := func(n int64) {
		t.Helper()
		placementtest.CheckFor(t, 30*time.Second, func() error {
			if got := calls.Load(); got < n {
				return fmt.Errorf("%d calls so far, want %d", got, n)
			}
			return nil
		})
	}

	atLeast(20)
	tc.Partition(cs[:2], cs[2:])
	for _, i := range []int{0, 3, 1, 4, 2} { // each node sees the split in turn
		side := cs[2:]
		if i < 2 {
			side = cs[:2]
		}
		setView(cs[i:i+1], side...)
	}
	atLeast(calls.Load() + 2*keys) // every key written from both sides

	tc.Heal()
	for _, i := range []int{3, 0, 4, 1, 2} { // each node learns of the heal in turn
		setView(cs[i:i+1], cs...)
	}
	settled(t, 10*time.Second, cs, kindCounter)
	for i := range keys {
		placementtest.CheckFor(t, 10*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, err := getState(ctx, cs[1], kindCounter, keyName(i)); err != nil {
				return fmt.Errorf("%s unreadable: %w", keyName(i), err)
			}
			return nil
		})
	}
}
