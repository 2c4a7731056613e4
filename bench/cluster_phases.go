package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/placement"
)

// clusterSettleTimeout bounds each wait for a cluster state.
const clusterSettleTimeout = 60 * time.Second

// clusterJoin: Nodes nodes host Keys keys; one more node joins.
func clusterJoin(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.close()
	if _, err := clusterCreateKeys(ctx, b.nodes, cfg.Keys); err != nil {
		return err
	}
	before, _ := clusterHosts(b.nodes)
	oldRing := b.nodes[0].View().Ring()
	cfg.progress("join: starting one more node")
	start := time.Now()
	if _, err := b.add(); err != nil {
		return err
	}
	if err := b.waitConverged(ctx, b.nodes, clusterSettleTimeout); err != nil {
		return err
	}
	res.JoinViewConvergedMS = clusterMS(time.Since(start))
	if err := clusterWait(ctx, clusterSettleTimeout, "keys on their owners after the join", func() bool { return clusterSettled(b.nodes, cfg.Keys) }); err != nil {
		return err
	}
	res.JoinRebalanceMS = clusterMS(time.Since(start))
	after, _ := clusterHosts(b.nodes)
	newRing := b.nodes[0].View().Ring()
	for i := range cfg.Keys {
		k := clusterKey(i)
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
	b, err := startClusterNet(ctx, cfg, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.close()
	born, err := clusterCreateKeys(ctx, b.nodes, cfg.Keys)
	if err != nil {
		return err
	}
	leaver := b.nodes[1]
	stay := append([]*placement.Cluster{b.nodes[0]}, b.nodes[2:]...)
	res.LeaveKeys = len(leaver.Hosted())
	buffered0 := clusterBuffered(b.nodes)
	tr := startClusterTraffic(stay, cfg)
	if err := tr.flowing(ctx, cfg); err != nil {
		tr.halt()
		return err
	}
	cfg.progress(fmt.Sprintf("leave: draining a node hosting %d keys", res.LeaveKeys))
	if err := clusterTimeLeave(ctx, leaver, res); err != nil {
		tr.halt()
		return err
	}
	err = clusterWait(ctx, clusterSettleTimeout, "keys on their owners after the leave", func() bool { return clusterSettled(stay, cfg.Keys) })
	if err == nil {
		err = tr.flowing(ctx, cfg) // traffic after the leave is counted too
	}
	tr.halt()
	if err != nil {
		return err
	}
	res.LeaveMessages, res.LeaveSendErrors = tr.total.Load(), tr.errs.Load()
	res.LeaveBuffered = clusterBuffered(b.nodes) - buffered0
	return clusterCountLosses(ctx, stay, cfg, born, tr, res)
}

// clusterTimeLeave runs Drain (timed: leave_handoff_ms), then the rest of Leave.
func clusterTimeLeave(ctx context.Context, leaver *placement.Cluster, res *ClusterResult) error {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := leaver.Drain(dctx); err != nil {
		return err
	}
	res.LeaveHandoffMS = clusterMS(time.Since(start))
	err := leaver.Leave(dctx)
	res.LeaveTotalMS = clusterMS(time.Since(start))
	return err
}

// clusterCountLosses waits (up to 10 s) until every sent message was counted,
// then counts keys whose state restarted and messages never counted.
func clusterCountLosses(ctx context.Context, cs []*placement.Cluster, cfg ClusterConfig, born []string, tr *clusterTraffic, res *ClusterResult) error {
	var lostStates atomic.Int64
	var lostMsgs atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	err := clusterForKeys(ctx, cs, cfg.Keys, func(c *placement.Cluster, i int) error {
		want := tr.sentTo(i)
		for {
			st, err := clusterReadState(ctx, c, clusterKey(i), "get")
			if err != nil {
				return err
			}
			if st.Count >= want || time.Now().After(deadline) {
				if st.Born != born[i] {
					lostStates.Add(1)
				}
				lostMsgs.Add(max(0, want-st.Count))
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	res.LeaveLostStates, res.LeaveLostMessages = int(lostStates.Load()), lostMsgs.Load()
	return err
}

// clusterTraffic sends to every key from Senders goroutines at Rate
// messages a second in all, counting per key the sends that returned nil.
type clusterTraffic struct {
	sent  []atomic.Int64
	total atomic.Int64
	errs  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startClusterTraffic(from []*placement.Cluster, cfg ClusterConfig) *clusterTraffic {
	tr := &clusterTraffic{sent: make([]atomic.Int64, cfg.Keys), stop: make(chan struct{})}
	interval := time.Duration(float64(time.Second) * float64(cfg.Senders) / float64(cfg.Rate))
	for s := range cfg.Senders {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tr.run(from[s%len(from)], cfg.Keys, s, interval)
		}()
	}
	return tr
}

func (tr *clusterTraffic) run(c *placement.Cluster, keys, s int, interval time.Duration) {
	ctx, start := context.Background(), time.Now()
	payload := []byte("+1")
	for n := 0; ; n++ {
		if n%16 == 0 {
			select {
			case <-tr.stop:
				return
			default:
			}
			if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		i := (n*7919 + s*104729) % keys
		if err := c.Send(ctx, clusterKind, clusterKey(i), payload); err != nil {
			tr.errs.Add(1)
			continue
		}
		tr.sent[i].Add(1)
		tr.total.Add(1)
	}
}

// flowing waits until a tenth of a second's worth of traffic (Rate/10
// sends) more than now has been sent.
func (tr *clusterTraffic) flowing(ctx context.Context, cfg ClusterConfig) error {
	want := tr.total.Load() + int64(max(1, cfg.Rate/10))
	return clusterWait(ctx, 10*time.Second, "traffic flowing", func() bool { return tr.total.Load() >= want })
}

func (tr *clusterTraffic) halt() {
	close(tr.stop)
	tr.wg.Wait()
}

func (tr *clusterTraffic) sentTo(i int) int64 { return tr.sent[i].Load() }

// clusterKill: a node stops without leaving; its keys must be served
// again by the survivors once Serf marks it failed.
func clusterKill(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.close()
	if _, err := clusterCreateKeys(ctx, b.nodes, cfg.Keys); err != nil {
		return err
	}
	victim, survivors := b.nodes[len(b.nodes)-1], b.nodes[:len(b.nodes)-1]
	var keys []string
	for _, h := range victim.Hosted() {
		keys = append(keys, h.Key)
	}
	res.KillKeys = len(keys)
	cfg.progress(fmt.Sprintf("kill: stopping a node hosting %d keys", len(keys)))
	start := time.Now()
	if err := victim.Close(); err != nil {
		return err
	}
	viewDone := make(chan error, 1)
	go func() {
		err := b.waitConverged(ctx, survivors, clusterSettleTimeout)
		res.KillViewMS = clusterMS(time.Since(start))
		viewDone <- err
	}()
	err = clusterForKeys(ctx, survivors, len(keys), func(c *placement.Cluster, i int) error {
		return clusterWait(ctx, clusterSettleTimeout, "key served after the kill", func() bool {
			_, err := clusterReadState(ctx, c, keys[i], "get")
			return err == nil
		})
	})
	res.KillReownedMS = clusterMS(time.Since(start))
	if verr := <-viewDone; err == nil {
		err = verr
	}
	return err
}

// clusterHeal: a partition splits the cluster; both sides write every key
// (so each key runs on both sides); the partition heals.
func clusterHeal(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := startClusterNet(ctx, cfg, cfg.Nodes)
	if err != nil {
		return err
	}
	defer b.close()
	small, big := b.nodes[:cfg.Nodes/2], b.nodes[cfg.Nodes/2:]
	cfg.progress(fmt.Sprintf("heal: partition %d|%d", len(small), len(big)))
	b.fn.Partition(clusterGossipAddrs(small), clusterGossipAddrs(big))
	for _, side := range [][]*placement.Cluster{small, big} {
		if err := b.waitConverged(ctx, side, clusterSettleTimeout); err != nil {
			return err
		}
		if err := clusterForKeys(ctx, side, cfg.Keys, func(c *placement.Cluster, i int) error {
			_, err := clusterReadState(ctx, c, clusterKey(i), "inc")
			return err
		}); err != nil {
			return err
		}
	}
	res.HealDuplicates = clusterDuplicates(b.nodes)
	cfg.progress(fmt.Sprintf("heal: %d keys live on both sides; healing", res.HealDuplicates))
	return clusterMeasureHeal(ctx, b, cfg, res)
}

// clusterMeasureHeal heals the partition and times the merge and the resolution.
func clusterMeasureHeal(ctx context.Context, b *clusterNet, cfg ClusterConfig, res *ClusterResult) error {
	start := time.Now()
	b.fn.Heal()
	if err := b.waitConverged(ctx, b.nodes, clusterSettleTimeout); err != nil {
		return err
	}
	merged := time.Now()
	res.HealMergeMS = clusterMS(merged.Sub(start))
	done := func() bool { return clusterSettled(b.nodes, cfg.Keys) }
	_ = clusterWait(ctx, 5*time.Second, "one process per key", done)
	res.HealDuplicatesLeft = clusterDuplicates(b.nodes)
	err := clusterWait(ctx, clusterSettleTimeout, "one process per key after the heal", done)
	res.HealConvergedMS = clusterMS(time.Since(merged))
	for _, c := range b.nodes {
		res.HealConflicts += c.Stats().Conflicts
	}
	return err
}

func clusterGossipAddrs(cs []*placement.Cluster) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Membership().GossipAddr()
	}
	return out
}

func clusterBuffered(cs []*placement.Cluster) uint64 {
	var n uint64
	for _, c := range cs {
		n += c.Stats().Buffered
	}
	return n
}
