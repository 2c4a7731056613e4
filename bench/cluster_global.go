package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// GlobalFigures are the figures of the global names, locks and groups
// phases (issue 12), each beside CallP50us measured in the same run.
type GlobalFigures struct {
	// CallP50us: a node call round trip from the first node to a process
	// on the second (the baseline of the ratios), measured interleaved with
	// the operations below. KeyedCallP50us: a routed call to a keyed
	// process owned by another node (Cluster.Call), likewise.
	CallP50us      float64 `json:"global_call_p50_us"`
	KeyedCallP50us float64 `json:"keyed_call_p50_us"`
	// GlobalRegisterP50us: RegisterName of a new name (its authority starts
	// on the name's owner) until the caller has the answer, in a view older
	// than RecoveryWindow. P99 beside it.
	GlobalRegisterP50us float64 `json:"global_register_p50_us"`
	GlobalRegisterP99us float64 `json:"global_register_p99_us"`
	// GlobalReregisterP50us: RegisterName of a name unregistered just
	// before (untimed), whose authority process is still running: the
	// registration without starting a process.
	GlobalReregisterP50us float64 `json:"global_reregister_p50_us"`
	// GlobalWhereisP50us: one WhereisName (a local read), median of
	// batches.
	GlobalWhereisP50us float64 `json:"global_whereis_p50_us"`
	// LockRoundtripP50us: SetLock plus DelLock of a free lock; LockTransP50us:
	// Trans of an empty function (a fresh inbox as requester, the lock,
	// the release).
	LockRoundtripP50us float64 `json:"lock_roundtrip_p50_us"`
	LockTransP50us     float64 `json:"lock_trans_p50_us"`
	// GroupJoinVisibleP50us: pg Join on the first node until every other
	// node's Members shows it; GroupMembersP50us: one Members read
	// (node/pg's Bench, on the same cluster).
	GroupJoinVisibleP50us float64 `json:"group_join_visible_p50_us"`
	GroupMembersP50us     float64 `json:"group_members_p50_us"`
	// HealNameConflictsResolvedMS: min(1000, Keys) names registered on
	// both sides of a partition; from Serf reporting the merge until every node
	// sees one holder per name. HealNameConflicts: the conflicts the
	// authorities resolved; HealNameDuplicatesLeft: names on which two
	// nodes still disagreed 5 s after the merge.
	HealNameConflictsResolvedMS float64 `json:"heal_name_conflicts_resolved_ms"`
	HealNameConflicts           uint64  `json:"heal_name_conflicts"`
	HealNameDuplicatesLeft      int     `json:"heal_name_duplicates_left"`
}

// globalSamples is the number of timed operations of each kind (after a
// tenth more to warm up), at most ClusterConfig.Keys.
const globalSamples = 1000

// globalNet is a cluster with a global Service and a pg scope on each node.
type globalNet struct {
	*placementtest.Cluster
	svcs      []*global.Service
	scopes    []*pg.Scope
	healNames int // the heal phase's names
}

// startGlobalNet starts n nodes (TCP, Serf local profile) with global
// names and locks and a pg scope each.
func startGlobalNet(ctx context.Context, n int) (*globalNet, error) {
	made := make([]*global.Service, n+1)
	b, err := placementtest.Start(ctx, placementtest.Options{
		Nodes: n, Gossip: true, TCP: true, Prefix: "bench",
		Configure: func(i int, cfg *placement.Config) {
			made[i], _ = global.New(global.DefaultConfig())
			made[i].Configure(cfg)
		},
	})
	if err != nil {
		return nil, err
	}
	g := &globalNet{Cluster: b}
	for i, c := range b.Nodes() {
		err = g.attach(c, made[i+1])
		if err != nil {
			g.Close()
			return nil, err
		}
	}
	return g, nil
}

func (g *globalNet) attach(c *placement.Cluster, s *global.Service) error {
	if err := s.Start(c); err != nil {
		return err
	}
	g.svcs = append(g.svcs, s)
	sc, err := pg.Start(c.Node(), pg.DefaultConfig())
	g.scopes = append(g.scopes, sc)
	return err
}

// Close stops the scopes, the services and the cluster.
func (g *globalNet) Close() {
	for _, sc := range g.scopes {
		if sc != nil {
			_ = sc.Close()
		}
	}
	for _, s := range g.svcs {
		_ = s.Close()
	}
	_ = g.Cluster.Close()
}

// clusterGlobal: names, locks and groups on a fresh cluster whose view is
// older than RecoveryWindow (the steady state).
func clusterGlobal(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	g, err := startGlobalNet(ctx, cfg.Nodes)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := waitConverged(ctx, g.Nodes(), clusterSettleTimeout); err != nil {
		return err
	}
	cfg.progress("global: waiting until the view is older than RecoveryWindow")
	if err := waitViewAge(ctx, g.Node(0), global.DefaultConfig().RecoveryWindow); err != nil {
		return err
	}
	n := min(globalSamples, cfg.Keys)
	cfg.progress(fmt.Sprintf("global: %d registrations, lock round trips and transactions, with calls between", n))
	if err := measureGlobalOps(ctx, g, n, &res.GlobalFigures); err != nil {
		return err
	}
	r, err := pg.Bench(ctx, g.scopes, pg.BenchConfig{Samples: max(n/5, 10)})
	res.GlobalFigures.GroupJoinVisibleP50us, res.GlobalFigures.GroupMembersP50us = r.JoinVisibleP50us, r.MembersP50us
	return err
}

// waitViewAge waits until c's view is older than age.
func waitViewAge(ctx context.Context, c *placement.Cluster, age time.Duration) error {
	if d := age - time.Since(c.View().Since) + 100*time.Millisecond; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// opTimes collects the durations of each operation.
type opTimes struct{ call, keyed, register, reregister, lock, trans []time.Duration }

// measureGlobalOps times, from the first node, registrations of new names,
// lock round trips and transactions, each kind in its own loop of
// samples (after a tenth to warm up) with a node call and a keyed
// call interleaved: every operation is measured beside the calls of the
// same run, and none runs while another kind's background work (a
// registration's dissemination) is still going on in a way the calls would
// not see too.
func measureGlobalOps(ctx context.Context, g *globalNet, samples int, out *GlobalFigures) error {
	run, err := newGlobalRun(ctx, g)
	if err != nil {
		return err
	}
	defer run.close()
	var ts opTimes
	for _, op := range []opKind{opRegister, opReregister, opLock, opTrans} {
		for i := range samples + samples/10 {
			if err := run.once(ctx, op, i, &ts, i >= samples/10); err != nil {
				return err
			}
		}
	}
	out.CallP50us, out.KeyedCallP50us = nodeQuantileUS(ts.call, 50), nodeQuantileUS(ts.keyed, 50)
	out.GlobalRegisterP50us, out.GlobalRegisterP99us = nodeQuantileUS(ts.register, 50), nodeQuantileUS(ts.register, 99)
	out.LockRoundtripP50us, out.LockTransP50us = nodeQuantileUS(ts.lock, 50), nodeQuantileUS(ts.trans, 50)
	out.GlobalReregisterP50us = nodeQuantileUS(ts.reregister, 50)
	out.GlobalWhereisP50us, err = run.whereis()
	return err
}
