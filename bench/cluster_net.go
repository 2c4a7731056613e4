package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/internal/par"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// errClusterTimeout: a cluster phase did not reach its state in time.
var errClusterTimeout = errors.New("bench: cluster did not settle in time")

// clusterKind is the stateful keyed process of the cluster benchmark: the
// harness's counter, which keeps its state across handoffs and detects
// loss and reordering.
const clusterKind = placementtest.KindCounter

// startClusterNet starts an in-process cluster of n nodes (TCP on
// 127.0.0.1, real Serf with the local profile, through a FaultNet so that
// the heal phase can cut it) and waits until their views agree.
func startClusterNet(ctx context.Context, n int) (*placementtest.Cluster, error) {
	return placementtest.Start(ctx, placementtest.Options{
		Nodes: n, Gossip: true, TCP: true, Prefix: "bench",
		Configure: func(_ int, cfg *placement.Config) {
			d := placement.DefaultConfig()
			cfg.VNodes, cfg.HandoffTimeout = d.VNodes, d.HandoffTimeout
			cfg.ReconcileInterval = 200 * time.Millisecond
			cfg.Membership.ReconcileInterval = 200 * time.Millisecond
		},
	})
}

// clusterWait polls cond until it holds, ctx ends or timeout passes.
func clusterWait(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	return clusterCheck(ctx, timeout, poll.Cond(cond, func() string { return what }))
}

// clusterCheck polls f until it returns nil, ctx ends or timeout passes.
func clusterCheck(ctx context.Context, timeout time.Duration, f func() error) error {
	err := placementtest.WaitFor(ctx, timeout, f)
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("%w: %w", errClusterTimeout, err)
	}
	return err
}

// waitConverged waits until every node in cs has a view of exactly cs, all
// with one checksum.
func waitConverged(ctx context.Context, cs []*placement.Cluster, timeout time.Duration) error {
	return clusterCheck(ctx, timeout, func() error { return placementtest.Converged(cs, len(cs)) })
}

// clusterSettled reports whether each of keys keys lives on exactly one
// node of cs, active, on its owner.
func clusterSettled(cs []*placement.Cluster, keys int) error {
	if err := placementtest.Settled(cs, clusterKind); err != nil {
		return err
	}
	if n := len(placementtest.HostMap(cs, clusterKind)); n != keys {
		return fmt.Errorf("%d of %d keys hosted", n, keys)
	}
	return nil
}

// clusterReadState calls a key for its state ("inc" counts, "get" only reads).
func clusterReadState(ctx context.Context, c *placement.Cluster, key, op string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.Call(ctx, clusterKind, key, []byte(op))
	return err
}

// clusterForKeys runs f for each key on 16 goroutines, through node
// i % len(cs).
func clusterForKeys(ctx context.Context, cs []*placement.Cluster, keys []string, f func(c *placement.Cluster, key string) error) error {
	return par.ForEach(ctx, len(keys), 16, func(i int) error { return f(cs[i%len(cs)], keys[i]) })
}
