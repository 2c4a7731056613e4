package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// clusterSettleTimeout bounds each wait for a cluster state.
const clusterSettleTimeout = 60 * time.Second

// clusterJoin: Nodes nodes host Keys keys; one more node joins.
func clusterJoin(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.Close()
	keys := placementtest.KeyNames(cfg.Keys)
	if _, err := placementtest.CreateKeys(ctx, b.Nodes(), clusterKind, keys); err != nil {
		return err
	}
	before := placementtest.HostMap(b.Nodes(), clusterKind)
	oldRing := b.Node(0).View().Ring()
	cfg.progress("join: starting one more node")
	start := time.Now()
	if _, err := b.Add(); err != nil {
		return err
	}
	if err := waitConverged(ctx, b.Nodes(), clusterSettleTimeout); err != nil {
		return err
	}
	res.JoinViewConvergedMS = clusterMS(time.Since(start))
	if err := clusterCheck(ctx, clusterSettleTimeout, func() error { return clusterSettled(b.Nodes(), cfg.Keys) }); err != nil {
		return err
	}
	res.JoinRebalanceMS = clusterMS(time.Since(start))
	after := placementtest.HostMap(b.Nodes(), clusterKind)
	newRing := b.Node(0).View().Ring()
	for _, k := range keys {
		if before[k][0] != after[k][0] {
			res.JoinMoved++
		}
		if oldRing.LocateString(k) != newRing.LocateString(k) {
			res.JoinRingMoved++
		}
	}
	res.JoinIdeal = float64(cfg.Keys) / float64(cfg.Nodes+1)
	res.JoinMovedRatio = float64(res.JoinMoved) / res.JoinIdeal
	return nil
}

// clusterLeave: under continuous traffic, a node hosting its share of the
// keys leaves gracefully; every message and state is then accounted for.
func clusterLeave(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.Close()
	keys := placementtest.KeyNames(cfg.Keys)
	born, err := placementtest.CreateKeys(ctx, b.Nodes(), clusterKind, keys)
	if err != nil {
		return err
	}
	all := b.Nodes()
	leaver := all[1]
	stay := append([]*placement.Cluster{all[0]}, all[2:]...)
	res.LeaveKeys = len(leaver.Hosted())
	buffered0 := clusterBuffered(all)
	tr := placementtest.StartTraffic(stay, clusterKind, keys, placementtest.TrafficOptions{Senders: cfg.Senders, Rate: cfg.Rate})
	defer tr.Halt()
	if err := tr.Flowing(ctx, int64(max(1, cfg.Rate/10))); err != nil {
		return err
	}
	cfg.progress(fmt.Sprintf("leave: draining a node hosting %d keys", res.LeaveKeys))
	if err := clusterTimeLeave(ctx, b, leaver, res); err != nil {
		return err
	}
	err = clusterCheck(ctx, clusterSettleTimeout, func() error { return clusterSettled(stay, cfg.Keys) })
	if err == nil {
		err = tr.Flowing(ctx, int64(max(1, cfg.Rate/10))) // traffic after the leave is counted too
	}
	tr.Halt()
	if err != nil {
		return err
	}
	res.LeaveMessages, res.LeaveSendErrors = tr.Total(), tr.Errors()
	res.LeaveBuffered = clusterBuffered(all) - buffered0
	return clusterCountLosses(ctx, b, stay[0], tr, born, res)
}

// clusterTimeLeave runs Drain (timed: leave_handoff_ms), then the rest of Leave.
func clusterTimeLeave(ctx context.Context, b *placementtest.Cluster, leaver *placement.Cluster, res *ClusterResult) error {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := leaver.Drain(dctx); err != nil {
		return err
	}
	res.LeaveHandoffMS = clusterMS(time.Since(start))
	err := b.Leave(dctx, leaver)
	res.LeaveTotalMS = clusterMS(time.Since(start))
	return err
}

// clusterCountLosses waits (up to 10 s) until every sent message was
// counted, then counts keys whose state restarted and messages never
// counted, apart from those a false failure detection put in a copy that
// lost a conflict (reported separately: not silently lost).
func clusterCountLosses(ctx context.Context, b *placementtest.Cluster, via *placement.Cluster, tr *placementtest.Traffic, born map[string]string, res *ClusterResult) error {
	r, err := b.Delivery(ctx, via, clusterKind, tr, born, 10*time.Second)
	res.LeaveLostStates, res.LeaveLostMessages = r.LostStates, r.LostMessages
	res.LeaveInLostCopies, res.LeaveConflicts, res.LeaveFalseFailures = r.InLostCopies, r.Conflicts, r.FalseFailures
	res.LeaveDisordered = r.Disordered
	return err
}

// clusterKill: a node crashes (transport and gossip cut at once, then
// stopped); its keys must be served again by the survivors once Serf
// marks it failed.
func clusterKill(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.Close()
	if _, err := placementtest.CreateKeys(ctx, b.Nodes(), clusterKind, placementtest.KeyNames(cfg.Keys)); err != nil {
		return err
	}
	all := b.Nodes()
	victim, survivors := all[len(all)-1], all[:len(all)-1]
	var keys []string
	for _, h := range victim.Hosted() {
		keys = append(keys, h.Key)
	}
	res.KillKeys = len(keys)
	cfg.progress(fmt.Sprintf("kill: crashing a node hosting %d keys", len(keys)))
	start := time.Now()
	if err := b.Crash(victim); err != nil {
		return err
	}
	viewDone := make(chan error, 1)
	go func() {
		err := waitConverged(ctx, survivors, clusterSettleTimeout)
		res.KillViewMS = clusterMS(time.Since(start))
		viewDone <- err
	}()
	err = clusterForKeys(ctx, survivors, keys, func(c *placement.Cluster, key string) error {
		return clusterCheck(ctx, clusterSettleTimeout, func() error { return clusterReadState(ctx, c, key, "get") })
	})
	res.KillReownedMS = clusterMS(time.Since(start))
	if verr := <-viewDone; err == nil {
		err = verr
	}
	return err
}

// clusterHeal: a partition (gossip and wire) splits the cluster; both sides
// write every key (so each key runs on both sides); the partition heals.
func clusterHeal(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.Close()
	all := b.Nodes()
	small, big := all[:cfg.Nodes/2], all[cfg.Nodes/2:]
	cfg.progress(fmt.Sprintf("heal: partition %d|%d", len(small), len(big)))
	b.Partition(small, big)
	keys := placementtest.KeyNames(cfg.Keys)
	for _, side := range [][]*placement.Cluster{small, big} {
		if err := waitConverged(ctx, side, clusterSettleTimeout); err != nil {
			return err
		}
		if err := clusterForKeys(ctx, side, keys, func(c *placement.Cluster, key string) error {
			return clusterReadState(ctx, c, key, "inc")
		}); err != nil {
			return err
		}
	}
	res.HealDuplicates = placementtest.Duplicates(all, clusterKind)
	cfg.progress(fmt.Sprintf("heal: %d keys live on both sides; healing", res.HealDuplicates))
	return clusterMeasureHeal(ctx, b, cfg, res)
}

// clusterMeasureHeal heals the partition and times the merge and the resolution.
func clusterMeasureHeal(ctx context.Context, b *placementtest.Cluster, cfg ClusterConfig, res *ClusterResult) error {
	start := time.Now()
	b.Heal()
	all := b.Nodes()
	if err := waitConverged(ctx, all, clusterSettleTimeout); err != nil {
		return err
	}
	merged := time.Now()
	res.HealMergeMS = clusterMS(merged.Sub(start))
	done := func() error { return clusterSettled(all, cfg.Keys) }
	_ = clusterCheck(ctx, 5*time.Second, done)
	res.HealDuplicatesLeft = placementtest.Duplicates(all, clusterKind)
	err := clusterCheck(ctx, clusterSettleTimeout, done)
	res.HealConvergedMS = clusterMS(time.Since(merged))
	for _, c := range all {
		res.HealConflicts += c.Stats().Conflicts
	}
	return err
}

func clusterBuffered(cs []*placement.Cluster) uint64 {
	var n uint64
	for _, c := range cs {
		n += c.Stats().Buffered
	}
	return n
}
