package placement_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// TestBoundedStrategyEndToEnd: a cluster placing keys with the bounded
// strategy routes, keeps state across a join, and says which strategy its
// views use.
func TestBoundedStrategyEndToEnd(t *testing.T) {
	t.Parallel()
	bounded := func(c *placement.Config) {
		c.Strategy, c.LoadFactor, c.PartitionBits = placement.StrategyBounded, 1.1, 12
	}
	tc := newTestCluster(t, true)
	cs := tc.startN(3, bounded)
	converged(t, serfTimeout, cs, 3)
	if s := cs[0].View().Strategy; s != "bounded/v128/c1.1/p12" {
		t.Fatalf("view strategy %q", s)
	}
	born := createKeys(t, cs[0], kindCounter, 300)
	cs = append(cs, tc.start(bounded))
	converged(t, serfTimeout, cs, 4)
	settled(t, serfTimeout, cs, kindCounter)
	if n := len(cs[3].Hosted()); n == 0 {
		t.Fatal("the new node took no keys")
	}
	for k, b := range born {
		st, err := getState(context.Background(), cs[1], kindCounter, k)
		if err != nil || st.Born != b {
			t.Fatalf("%s: %+v %v, born %s", k, st, err, b)
		}
	}
}

// syncBuf is a log sink for one test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestStrategyMismatchRefused: a member configured with another strategy
// is kept out of the ring on every node, visibly (View.Excluded, a warning
// naming it, an error on the member itself), never as a silent split: it
// owns nothing and still routes to the others.
func TestStrategyMismatchRefused(t *testing.T) {
	t.Parallel()
	var logs syncBuf
	tc := newTestCluster(t, true, placementtest.Options{Logger: zerolog.New(&logs)})
	cs := tc.startN(2, nil)
	odd := tc.start(func(c *placement.Config) { c.Strategy = placement.StrategyBounded })
	all := append(cs, odd)
	placementtest.CheckFor(t, serfTimeout, func() error {
		for _, c := range all {
			v := c.View()
			if len(v.Members) != 2 || v.Strategy != "ring/v128" || len(v.Excluded) != 1 || v.Excluded[0] != odd.Name() {
				return &viewErr{c.Name(), v}
			}
		}
		return nil
	})
	ctx := context.Background()
	for i := range 50 {
		if _, err := odd.Call(ctx, kindCounter, keyName(i), []byte("inc")); err != nil {
			t.Fatalf("a call through the excluded member: %v", err)
		}
	}
	if n := len(odd.Hosted()); n != 0 {
		t.Fatalf("the excluded member hosts %d keys", n)
	}
	placementtest.CheckFor(t, 5*time.Second, func() error {
		out := logs.String()
		if !strings.Contains(out, "member left out of the ring") || !strings.Contains(out, "it owns no keys") {
			return &logErr{out}
		}
		return nil
	})
}

type viewErr struct {
	node string
	v    *placement.View
}

func (e *viewErr) Error() string {
	return e.node + ": view " + e.v.Strategy + " members " + strings.Join(memberNames(e.v), ",") + " excluded " + strings.Join(e.v.Excluded, ",")
}

func memberNames(v *placement.View) []string {
	out := make([]string, len(v.Members))
	for i, m := range v.Members {
		out[i] = m.Name
	}
	return out
}

type logErr struct{ out string }

func (e *logErr) Error() string {
	if len(e.out) > 2000 {
		return "no exclusion log lines in ..." + e.out[len(e.out)-2000:]
	}
	return "no exclusion log lines in " + e.out
}
