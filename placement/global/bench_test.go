package global_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// The operations of placer bench cluster, on three nodes over TCP with
// static views (go test -bench . ./placement/global).

func BenchmarkNodeCall(b *testing.B) {
	g := newBenchCluster(b)
	n0 := g.Node(0).Node()
	echo, err := n0.SpawnOn(context.Background(), g.Node(1).Name(), node.KindEcho, nil, node.SpawnOpts{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := n0.Call(context.Background(), echo, []byte("ping")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegisterNew(b *testing.B) {
	g := newBenchCluster(b)
	ib, _ := g.Node(0).Node().NewInbox()
	b.ResetTimer()
	for i := range b.N {
		if err := g.svcs[0].RegisterName(context.Background(), fmt.Sprintf("b/%d", i), ib.Self()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegisterAgain(b *testing.B) {
	g := newBenchCluster(b)
	ib, _ := g.Node(0).Node().NewInbox()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("b/%d", i%16)
		if err := g.svcs[0].RegisterName(ctx, name, ib.Self()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = g.svcs[0].UnregisterName(ctx, name)
		b.StartTimer()
	}
}

func BenchmarkLockRoundtrip(b *testing.B) {
	g := newBenchCluster(b)
	ib, _ := g.Node(0).Node().NewInbox()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := g.svcs[0].SetLock(ctx, "lock", ib.Self(), global.LockOpts{}); err != nil {
			b.Fatal(err)
		}
		if err := g.svcs[0].DelLock(ctx, "lock", ib.Self()); err != nil {
			b.Fatal(err)
		}
	}
}

type benchNet struct {
	*placementtest.Cluster
	svcs []*global.Service
}

func newBenchCluster(b *testing.B) *benchNet {
	made := map[int]*global.Service{}
	h, err := placementtest.Start(context.Background(), placementtest.Options{Nodes: 3, TCP: true,
		Configure: func(i int, cfg *placement.Config) {
			cfg.PullWindow = time.Millisecond // the steady state: no previous owners to ask
			gc := global.DefaultConfig()
			gc.RecoveryWindow = time.Millisecond
			made[i], _ = global.New(gc)
			made[i].Configure(cfg)
		}})
	if err != nil {
		b.Fatal(err)
	}
	g := &benchNet{Cluster: h}
	for i, c := range h.Nodes() {
		if err := made[i+1].Start(c); err != nil {
			b.Fatal(err)
		}
		g.svcs = append(g.svcs, made[i+1])
	}
	b.Cleanup(func() {
		for _, s := range g.svcs {
			_ = s.Close()
		}
		_ = h.Close()
	})
	return g
}

func BenchmarkKeyedCall(b *testing.B) {
	g := newBenchCluster(b)
	ctx := context.Background()
	key := ""
	for i := 0; key == ""; i++ {
		if k := placementtest.KeyName(i); g.Node(0).Owner(k) != g.Node(0).Name() {
			key = k
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := g.Node(0).Call(ctx, placementtest.KindCounter, key, []byte("get")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLockStatus(b *testing.B) {
	g := newBenchCluster(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := g.svcs[0].LockStatus(ctx, "lock"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyedCallNewKey: the same call to a new key each time (its
// process starts on the owner): the first-use cost beside
// BenchmarkKeyedCall.
func BenchmarkKeyedCallNewKey(b *testing.B) {
	g := newBenchCluster(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := g.Node(0).Call(ctx, placementtest.KindCounter, "new-"+strconv.Itoa(i), []byte("get")); err != nil {
			b.Fatal(err)
		}
	}
}
