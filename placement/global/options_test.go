package global_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// A custom resolver decides a name registered on both sides of a
// partition (static views), and ExitLoser exits the loser with a reason
// naming the conflict.
func TestResolverAndExitLoser(t *testing.T) {
	laterWins := func(_ string, a, b global.Registration) global.Registration {
		if a.Registered > b.Registered {
			return a
		}
		return b
	}
	var ms atomic.Int64 // one clock for all nodes, a millisecond a reading: registrations are ordered as made
	clock := func() time.Time { return time.UnixMilli(1_700_000_000_000 + ms.Add(1)) }
	g := newCluster(t, placementtest.Options{Nodes: 3}, func(c *global.Config) {
		c.Resolve, c.OnConflict, c.Clock = laterWins, global.ExitLoser, clock
	})
	ctx := ctxT(t)
	a, b := g.Node(0), g.Node(2)
	g.Partition([]*placement.Cluster{a}, []*placement.Cluster{g.Node(1), b})
	early, err := a.Node().Spawn(ctx, node.KindEcho, nil, node.SpawnOpts{})
	if err != nil {
		t.Fatal(err)
	}
	late, err := b.Node().Spawn(ctx, node.KindEcho, nil, node.SpawnOpts{})
	if err != nil {
		t.Fatal(err)
	}
	watcher := inbox(t, a)
	ref := watcher.Monitor(early)
	if err := g.svc(a).RegisterName(ctx, "contested", early); err != nil {
		t.Fatal(err)
	}
	if err := g.svc(b).RegisterName(ctx, "contested", late); err != nil {
		t.Fatal(err)
	}
	g.Heal()
	nameEverywhere(t, g, "contested", late)
	m, err := watcher.Receive(ctx)
	d, ok := m.(node.Down)
	if err != nil || !ok || d.Ref != ref || d.Reason.Kind != node.Error {
		t.Fatalf("the loser: %#v %v, want DOWN with an error reason", m, err)
	}
	t.Logf("loser exited: %v", d.Reason)
}

// In LockQuorum mode only a side holding a majority grants (real Serf).
func TestLockQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("real Serf")
	}
	g := newCluster(t, placementtest.Options{Nodes: 3, Gossip: true}, func(c *global.Config) { c.LockQuorum = true })
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	all := g.Nodes()
	placementtest.CheckFor(t, 20*time.Second, func() error { return placementtest.Converged(all, 3) })
	minority, majority := all[:1], all[1:]
	g.Partition(minority, majority)
	for _, side := range [][]*placement.Cluster{minority, majority} {
		placementtest.CheckFor(t, 20*time.Second, func() error { return placementtest.Converged(side, len(side)) })
	}
	placementtest.CheckFor(t, 10*time.Second, func() error {
		_, err := g.svc(minority[0]).SetLock(ctx, "q", inbox(t, minority[0]).Self(), global.LockOpts{})
		if !errors.Is(err, placement.ErrNoQuorum) {
			return fmt.Errorf("minority side: %v, want no quorum", err)
		}
		return nil
	})
	if _, err := g.svc(majority[0]).SetLock(ctx, "q", inbox(t, majority[0]).Self(), global.LockOpts{}); err != nil {
		t.Fatalf("majority side: %v", err)
	}
}
