package placement_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

func passivating(idle time.Duration, maxLive, replicas int) func(*placement.Config) {
	return func(c *placement.Config) {
		c.KindSpecs = map[string]placement.KindSpec{kindCounter: {IdleTimeout: idle, MaxLive: maxLive, Replicas: replicas}}
	}
}

func passiveCount(cs []*placement.Cluster) int {
	n := 0
	for _, c := range cs {
		n += c.Stats().Passive
	}
	return n
}

// TestPassivation: idle keyed processes stop and keep their state; the
// next request starts them again transparently; passivated keys move with
// a join without a process; every write is kept throughout.
func TestPassivation(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, passivating(50*time.Millisecond, 0, 2))
	setView(cs[:2], cs[:2]...)
	const keys = 100
	born := createKeys(t, cs[0], kindCounter, keys)
	incAll(t, cs[1], keys, 2)
	placementtest.CheckFor(t, 10*time.Second, func() error {
		if n := passiveCount(cs[:2]); n != keys {
			return fmt.Errorf("%d of %d keys passive", n, keys)
		}
		return nil
	})
	if n := cs[0].Node().Stats().Processes + cs[1].Node().Stats().Processes; n > 2*2 { // inboxes only
		t.Fatalf("%d processes left with every key passive", n)
	}
	setView(cs, cs...) // a join: passive keys move as they are
	settled(t, 10*time.Second, cs, kindCounter)
	if cs[2].Stats().Imported == 0 {
		t.Fatal("nothing moved to the new node")
	}
	incAll(t, cs[0], keys, 1) // wakes every key
	checkCounts(t, cs[2], born, 3)
	var re uint64
	for _, c := range cs {
		re += c.Stats().Reactivated
	}
	if re == 0 {
		t.Fatal("no key was started again from its kept state")
	}
}

// TestMaxLive: beyond MaxLive live processes per node the least recently
// used are passivated; they keep their state.
func TestMaxLive(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(1, passivating(0, 10, 1))
	setView(cs, cs...)
	born := createKeys(t, cs[0], kindCounter, 60)
	incAll(t, cs[0], 60, 1)
	placementtest.CheckFor(t, 10*time.Second, func() error {
		if n := cs[0].Stats().Passive; n != 50 {
			return fmt.Errorf("%d passive, want 50 (60 keys, MaxLive 10)", n)
		}
		return nil
	})
	ctx := context.Background()
	for k := range born {
		st, err := getState(ctx, cs[0], kindCounter, k)
		if err != nil || st.Count != 1 || st.Born != born[k] {
			t.Fatalf("%s: %+v %v", k, st, err)
		}
	}
}

// stateless is a kind whose exported state is empty (nil): passivating it
// keeps nothing, and a request must still start it again.
type stateless struct{ node.Base }

func (stateless) HandleCall(*node.Proc, node.PID, []byte) ([]byte, error) { return []byte("ok"), nil }
func (stateless) ExportState(*node.Proc) ([]byte, error)                  { return nil, nil }
func (stateless) ImportState(*node.Proc, []byte) error                    { return nil }

// TestPassivatedEmptyStateWakes: a passivated key whose kept state is
// empty is started again by the next request (an empty state once read as
// "not passivated" and left the key starting for ever).
func TestPassivatedEmptyStateWakes(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) {
		c.Kinds["stateless"] = func() node.Behavior { return stateless{} }
		c.KindSpecs = map[string]placement.KindSpec{"stateless": {IdleTimeout: 20 * time.Millisecond}}
	})
	setView(cs, cs...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for round := range 3 {
		for i := range 10 {
			if out, err := cs[i%2].Call(ctx, "stateless", keyName(i), nil); err != nil || string(out) != "ok" {
				t.Fatalf("round %d, %s: %q %v", round, keyName(i), out, err)
			}
		}
		placementtest.CheckFor(t, 10*time.Second, func() error {
			if n := passiveCount(cs); n != 10 {
				return fmt.Errorf("%d of 10 keys passive", n)
			}
			return nil
		})
	}
}
