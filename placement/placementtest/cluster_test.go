package placementtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 10*time.Second)) }

// Static views: a join moves keys with their state; traffic through a
// crash of a non-owner loses nothing; a partition splits the views and a
// heal brings them back with one copy per key.
func TestStaticLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := New(t, Options{Nodes: 2})
	keys := KeyNames(200)
	born, err := CreateKeys(ctx, c.Nodes(), KindCounter, keys)
	if err != nil {
		t.Fatal(err)
	}
	tr := StartTraffic(c.Nodes(), KindCounter, keys, TrafficOptions{Senders: 4, CallEvery: 10})
	if err := tr.Flowing(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Add(); err != nil {
		t.Fatal(err)
	}
	CheckFor(t, 10*time.Second, func() error { return Settled(c.Nodes(), KindCounter) })
	tr.Halt()
	if err := c.CheckDelivered(ctx, c.Node(2), KindCounter, tr, born, false); err != nil {
		t.Fatal(err)
	}
	if n := len(HostMap(c.Nodes()[2:], KindCounter)); n == 0 {
		t.Fatal("the new node hosts nothing")
	}
	a, b := c.Nodes()[:1], c.Nodes()[1:]
	c.Partition(a, b)
	CheckFor(t, 5*time.Second, func() error { return Converged(b, 2) })
	if err := Converged(a, 1); err != nil {
		t.Fatal(err)
	}
	c.Heal()
	CheckFor(t, 10*time.Second, func() error { return Settled(c.Nodes(), KindCounter) })
	if d := Duplicates(c.Nodes(), KindCounter); d != 0 {
		t.Fatalf("%d duplicates after heal", d)
	}
}

// Gossip on TCP: a crash is seen by Serf, the survivors converge, and a
// key of the crashed node is served again (fresh: R = 1).
func TestGossipCrashTCP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := New(t, Options{Nodes: 3, Gossip: true, TCP: true})
	keys := KeyNames(60)
	if _, err := CreateKeys(ctx, c.Nodes(), KindCounter, keys); err != nil {
		t.Fatal(err)
	}
	victim := c.Node(2)
	if err := c.Crash(victim); err != nil {
		t.Fatal(err)
	}
	if err := c.Crash(victim); !errors.Is(err, ErrNotMember) {
		t.Fatalf("second crash: %v", err)
	}
	CheckFor(t, 15*time.Second, func() error { return Converged(c.Nodes(), 2) })
	for _, k := range keys {
		if _, err := GetCounter(ctx, c.Node(0), KindCounter, k); err != nil {
			t.Fatalf("%s after the crash: %v", k, err)
		}
	}
}

func TestSettledAndConvergedSayWhatIsMissing(t *testing.T) {
	t.Parallel()
	c := New(t, Options{Nodes: 2, ManualViews: true})
	err := Converged(c.Nodes(), 2)
	if err == nil {
		t.Fatal("manual views of one member each converged to 2")
	}
	c.SetView(c.Nodes()...)
	CheckFor(t, time.Second, func() error { return Converged(c.Nodes(), 2) })
	if err := Settled(c.Nodes(), ""); err != nil {
		t.Fatalf("an empty cluster is settled: %v", err)
	}
}
