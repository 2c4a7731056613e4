package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
)

// globalHealNames is the most names the heal phase registers on both
// sides (at most ClusterConfig.Keys).
const globalHealNames = 1000

// clusterGlobalHeal: a partition splits a fresh cluster; both sides
// register the same names with their own process; the partition heals.
func clusterGlobalHeal(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	g, err := startGlobalNet(ctx, cfg.Nodes)
	if err != nil {
		return err
	}
	defer g.Close()
	all := g.Nodes()
	if err := waitConverged(ctx, all, clusterSettleTimeout); err != nil {
		return err
	}
	small, big := all[:cfg.Nodes/2], all[cfg.Nodes/2:]
	g.healNames = min(globalHealNames, cfg.Keys)
	cfg.progress(fmt.Sprintf("global heal: partition %d|%d, %d names registered on both sides", len(small), len(big), g.healNames))
	g.Partition(small, big)
	for _, side := range [][]*placement.Cluster{small, big} {
		if err := waitConverged(ctx, side, clusterSettleTimeout); err != nil {
			return err
		}
		if err := g.registerAll(ctx, side[0]); err != nil {
			return err
		}
	}
	return g.measureNameHeal(ctx, &res.GlobalFigures)
}

// registerAll registers the heal names with one process of c.
func (g *globalNet) registerAll(ctx context.Context, c *placement.Cluster) error {
	ib, err := c.Node().NewInbox()
	if err != nil {
		return err
	}
	s := g.svcOf(c)
	for i := range g.healNames {
		if err := s.RegisterName(ctx, fmt.Sprintf("heal/%d", i), ib.Self()); err != nil {
			return err
		}
	}
	return nil
}

func (g *globalNet) svcOf(c *placement.Cluster) *global.Service {
	for i, n := range g.Nodes() {
		if n == c {
			return g.svcs[i]
		}
	}
	return nil
}

// measureNameHeal heals and times until every node sees one holder per
// name; it counts the names still disputed 5 s after the merge.
func (g *globalNet) measureNameHeal(ctx context.Context, out *GlobalFigures) error {
	g.Heal()
	all := g.Nodes()
	if err := waitConverged(ctx, all, clusterSettleTimeout); err != nil {
		return err
	}
	merged := time.Now()
	agreed := func() error {
		if n := g.disputed(); n > 0 {
			return fmt.Errorf("%d names not agreed on", n)
		}
		return nil
	}
	err := clusterCheck(ctx, 5*time.Second, agreed)
	out.HealNameDuplicatesLeft = g.disputed()
	if err == nil {
		out.HealNameConflictsResolvedMS = clusterMS(time.Since(merged))
	} else if err = clusterCheck(ctx, clusterSettleTimeout, agreed); err == nil {
		out.HealNameConflictsResolvedMS = clusterMS(time.Since(merged))
	}
	for _, s := range g.svcs {
		out.HealNameConflicts += s.Stats().Conflicts
	}
	return err
}

// disputed counts the heal names that some node sees unregistered or held
// by another process than the first node sees.
func (g *globalNet) disputed() int {
	n := 0
	for i := range g.healNames {
		name := fmt.Sprintf("heal/%d", i)
		want, ok := g.svcs[0].WhereisName(name)
		for _, s := range g.svcs[1:] {
			if pid, _ := s.WhereisName(name); !ok || pid != want {
				n++
				break
			}
		}
	}
	return n
}
