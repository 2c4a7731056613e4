package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// Step 13: a partition, writes on both sides, and the heal.

// stepPartition cuts the cluster in two (Serf gossip through the FaultNet
// and the placer transport through the demo's wrapper), writes every list
// on both sides (availability first: each side owns every key), heals,
// and checks that one process per list remains, holding both writes.
func stepPartition(ctx context.Context, d *demo) error {
	if err := d.ensureLists(ctx); err != nil {
		return err
	}
	if len(d.nodes) < 2 {
		return fmt.Errorf("%w: a partition needs two nodes", ErrCheck)
	}
	a, b := d.nodes[:len(d.nodes)/2], d.nodes[len(d.nodes)/2:]
	if err := d.split(ctx, a, b); err != nil {
		return err
	}
	if err := d.writeBothSides(ctx, a, b); err != nil {
		return err
	}
	shells, err := d.registerBothSides(ctx, a, b)
	defer func() {
		for _, ib := range shells {
			if ib != nil {
				ib.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := d.heal(ctx); err != nil {
		return err
	}
	return d.nameAfterHeal(ctx, shells, start)
}

func demoSideNames(side []*demoNode) string {
	return "{" + strings.Join(demoNodeNames(side), ", ") + "}"
}

// split cuts a from b and waits until each side's views hold only it.
func (d *demo) split(ctx context.Context, a, b []*demoNode) error {
	connected := d.nodes[0].c.Node().Nodes(node.NodesVisible)
	d.shellCmd(fmt.Sprintf("# cut the network: side A %s | side B %s", demoSideNames(a), demoSideNames(b)))
	d.placer("membership.FaultNet.Partition(A's gossip addresses, B's) + the demo's cut of the TCP transport")
	start := time.Now()
	d.h.Partition(demoClusters(a), demoClusters(b))
	if err := d.waitFor(ctx, "no connection across the cut", func() bool { return d.h.CutConnections() == 0 }); err != nil {
		return err
	}
	for _, side := range [][]*demoNode{a, b} {
		if err := d.waitViews(ctx, side); err != nil {
			return err
		}
	}
	splitMS := demoSince(start)
	d.iex(d.nodes[0].name, "flush()")
	want := slices.DeleteFunc(slices.Clone(connected), func(n string) bool { return !slices.Contains(demoNodeNames(b), n) })
	got, err := d.flush(ctx, d.shell, "nodedown of side B", func(ms []demoMsg) bool {
		for _, n := range want {
			if !demoHasNodeDown(ms, n) {
				return false
			}
		}
		return true
	})
	d.printMsgs(got)
	d.note("Serf on each side marked the other failed; every view holds its own side after %.0f ms", splitMS)
	d.fig("partition_split_ms", splitMS, "ms", "cut -> each side's views hold only that side")
	return err
}

// writeBothSides adds one item to every list from each side.
func (d *demo) writeBothSides(ctx context.Context, a, b []*demoNode) error {
	d.note("both sides keep serving (availability first) and own every list of their view;")
	d.note("each side adds an item to every list:")
	for _, s := range []struct {
		side []*demoNode
		item string
	}{{a, "side A"}, {b, "side B"}} {
		d.placer("placement.CallT(ctx, c, %q, name, todoReq{Op: \"add\", Item: %q})   # c on side %s", demoTodoKind, s.item, s.item[5:])
		cs := demoClusters(s.side)
		err := demoForEach(ctx, d.o.Keys, func(i int) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, err := placement.CallT[demoTodoReq, demoTodoState](ctx, cs[i%len(cs)], demoTodoKind, demoListName(i), demoTodoReq{Op: "add", Item: s.item})
			return err
		})
		if err != nil {
			return fmt.Errorf("writes on %s: %w", s.item, err)
		}
	}
	dups := demoDuplicates(d.nodes)
	d.note("%d of the %d lists now live twice, once on each side", dups, d.o.Keys)
	d.fig("partition_duplicates", dups, "lists", "live on both sides before the heal")
	return nil
}

// heal removes the cut and waits for one process per list holding both
// sides' items (the demo's Conflict callback merges the loser's items).
func (d *demo) heal(ctx context.Context) error {
	d.shellCmd("# heal the network")
	d.placer("FaultNet.Heal(); the transport cut is removed")
	d.conflicts.take()
	start := time.Now()
	d.h.Heal()
	if err := d.waitViews(ctx, d.nodes); err != nil {
		return err
	}
	mergeMS := demoSince(start)
	if err := d.waitFor(ctx, "one process per list", func() bool { return demoSettled(d.nodes, d.o.Keys) }); err != nil {
		return err
	}
	healMS := demoSince(start)
	merged, err := d.waitMerged(ctx)
	if err != nil {
		return err
	}
	return d.reportHeal(mergeMS, healMS, merged)
}

// waitMerged waits (up to 10 s) until every list holds both sides' items
// and returns how many do.
func (d *demo) waitMerged(ctx context.Context) (int, error) {
	cs := demoClusters(d.nodes)
	var merged atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	err := demoForEach(ctx, d.o.Keys, func(i int) error {
		for {
			st, err := demoGetList(ctx, cs[i%len(cs)], i)
			if err != nil {
				return err
			}
			both := slices.Contains(st.Items, "side A") && slices.Contains(st.Items, "side B")
			if both || time.Now().After(deadline) {
				if both && len(st.Items) == d.expect[i]+2 {
					merged.Add(1)
				}
				d.expect[i] = len(st.Items)
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return int(merged.Load()), err
}

func (d *demo) reportHeal(mergeMS, healMS float64, merged int) error {
	conflicts, samples := d.conflicts.take()
	left := demoDuplicates(d.nodes)
	d.table([]string{"what", "after the heal"},
		[]string{"views merged (Serf)", fmt.Sprintf("%.0f ms", mergeMS)},
		[]string{"one process per list, on its owner", fmt.Sprintf("%.0f ms", healMS)})
	d.note("%d duplicates resolved, one EventConflict each, on the heal-time owner; e.g.", conflicts)
	for _, e := range samples {
		d.printf("     EventConflict %s %q: %s kept it; %s's copy (%d bytes) merged=%v\n", e.Kind, e.Key, e.To, e.From, e.StateBytes, e.Merged)
	}
	d.note("the demo's Config.Conflict sends the loser's items to the winner: %d/%d lists hold", merged, d.o.Keys)
	d.note("every item written before and during the partition, on both sides")
	d.fig("partition_merge_ms", mergeMS, "ms", "heal -> views merged")
	d.fig("partition_heal_ms", healMS, "ms", "heal -> one process per list")
	d.fig("partition_conflicts", conflicts, "lists", "duplicates resolved (EventConflict)")
	d.fig("partition_duplicates_left", left, "lists", "still on two nodes after the heal")
	d.fig("partition_lists_merged", merged, "lists", "holding both sides' writes after the heal")
	if left != 0 || merged != d.o.Keys {
		return fmt.Errorf("%w: after the heal %d lists are duplicated, %d of %d merged", ErrCheck, left, merged, d.o.Keys)
	}
	return nil
}
