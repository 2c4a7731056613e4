package placementtest

import (
	"slices"

	"github.com/placerhq/placer/placement"
)

// SetView installs, on each node of on (last first), a static view of
// members (static views only; the quorum verdict is true). Nodes not in
// members are gone for those views.
func SetView(on []*placement.Cluster, members ...*placement.Cluster) {
	setViewDraining(on, nil, members...)
}

// setViewDraining is SetView with the members of draining marked so. The
// nodes of on get the view newest first, as a joining node learns the
// cluster before the others route to it (a node that owned keys by a view
// of itself alone would start them fresh).
func setViewDraining(on, draining []*placement.Cluster, members ...*placement.Cluster) {
	ms := make([]placement.StaticMember, len(members))
	for i, m := range members {
		ms[i] = m.StaticSelf()
		ms[i].Draining = slices.Contains(draining, m)
	}
	for i := len(on) - 1; i >= 0; i-- {
		_ = on[i].SetStaticView(ms, true) // fails only once the node is closing
	}
}

// SetView installs a static view of members on every live node.
func (c *Cluster) SetView(members ...*placement.Cluster) { SetView(c.Nodes(), members...) }

// syncViews installs what gossip would converge to (static views only,
// unless ManualViews): on each side of a partition, a view of that side;
// otherwise a view of every live node.
func (c *Cluster) syncViews() {
	if c.fn != nil || c.o.ManualViews {
		return
	}
	c.setStaticViews(nil)
}

// setStaticViews installs the converged views with leaving marked
// draining.
func (c *Cluster) setStaticViews(leaving *placement.Cluster) {
	var draining []*placement.Cluster
	if leaving != nil {
		draining = append(draining, leaving)
	}
	for _, side := range c.sides() {
		setViewDraining(side, draining, side...)
	}
}

// sides splits the live nodes by the current partition: one side per cut
// side (nodes on no side form their own), or all nodes together.
func (c *Cluster) sides() [][]*placement.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cut) == 0 {
		return [][]*placement.Cluster{slices.Clone(c.nodes)}
	}
	out := make([][]*placement.Cluster, len(c.cut)+1)
	for _, p := range c.nodes {
		i := slices.IndexFunc(c.cut, func(side []string) bool { return slices.Contains(side, p.Name()) })
		if i < 0 {
			i = len(c.cut)
		}
		out[i] = append(out[i], p)
	}
	return slices.DeleteFunc(out, func(s []*placement.Cluster) bool { return len(s) == 0 })
}

// Partition cuts the wire and the gossip between every node of a and every
// node of b (both directions); with static views each side's nodes get a
// view of their side. Partitions do not add up: a new one replaces the
// last.
func (c *Cluster) Partition(a, b []*placement.Cluster) {
	an, bn := Names(a), Names(b)
	c.mu.Lock()
	c.cut = [][]string{an, bn}
	c.mu.Unlock()
	c.wire.cut(an, bn)
	if c.fn != nil {
		c.fn.Partition(gossipAddrs(a), gossipAddrs(b))
	}
	c.syncViews()
}

// Heal removes the partition: wire and gossip reconnect, and with static
// views every node gets a view of all.
func (c *Cluster) Heal() {
	c.mu.Lock()
	c.cut = nil
	c.mu.Unlock()
	c.wire.heal()
	if c.fn != nil {
		c.fn.Heal()
	}
	c.syncViews()
}

func gossipAddrs(cs []*placement.Cluster) []string {
	out := make([]string, len(cs))
	for i, p := range cs {
		out[i] = p.Membership().GossipAddr()
	}
	return out
}
