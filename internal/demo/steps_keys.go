package demo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/placerhq/placer/internal/par"
	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/ring"
)

// Steps 6-7: keyed processes on the ring.

func demoListName(i int) string { return fmt.Sprintf("list-%05d", i) }

// stepDiscovery: the seed's node_for_list (hash modulo the node count)
// against placer's ring when a node joins, then todo lists as keyed
// processes started lazily on their owners.
func stepDiscovery(ctx context.Context, d *demo) error {
	if err := d.compareChurn(); err != nil {
		return err
	}
	if err := d.createLists(ctx); err != nil {
		return err
	}
	d.printDistribution()
	return d.sampleCall(ctx)
}

// compareChurn counts the list names that change node when one more node
// joins the live members: modulo (the seed) against the live view's ring.
func (d *demo) compareChurn() error {
	v := d.nodes[0].c.View()
	next := ring.Member{Name: d.nextName(), Weight: 1}
	d.iex(d.nodes[0].name, "def node_for_list(name), do: Enum.at(Enum.sort(Node.list([:this, :visible])), :erlang.phash2(name, length(...)))")
	d.placer("schemes.NewModulo(members...)   vs   c1.View().Ring()   (strategy %s)", v.Strategy)
	mod, err := schemes.NewModulo(v.Members...)
	if err != nil {
		return err
	}
	mod2, err := mod.With(ring.AddChange(next))
	if err != nil {
		return err
	}
	r2, err := v.Ring().With(ring.AddChange(next))
	if err != nil {
		return err
	}
	modMoved, ringMoved := demoMoved(mod, mod2, d.o.Names), demoMoved(v.Ring(), r2, d.o.Names)
	return d.printChurn(len(v.Members), next.Name, modMoved, ringMoved)
}

// demoMoved counts the names list-00000... whose owner differs in a and b.
func demoMoved(a, b ring.Strategy, names int) int {
	n := 0
	for i := range names {
		k := demoListName(i)
		if a.LocateString(k) != b.LocateString(k) {
			n++
		}
	}
	return n
}

func (d *demo) printChurn(members int, next string, modMoved, ringMoved int) error {
	ideal := 1 / float64(members+1)
	pct := func(n int) float64 { return 100 * float64(n) / float64(d.o.Names) }
	d.note("%d list names; %s joins the %d live members. Names that change node:", d.o.Names, next, members)
	d.table([]string{"strategy", "moved", "of the names", "ideal"},
		[]string{"modulo (node_for_list)", fmt.Sprint(modMoved), fmt.Sprintf("%.1f%%", pct(modMoved)), fmt.Sprintf("%.1f%%", 100*ideal)},
		[]string{"ring (placer)", fmt.Sprint(ringMoved), fmt.Sprintf("%.1f%%", pct(ringMoved)), fmt.Sprintf("%.1f%%", 100*ideal)})
	d.note("modulo hashes with XXH64 instead of phash2: the same scheme, the same churn")
	ratio := pct(ringMoved) / 100 / ideal
	d.fig("discovery_modulo_moved_pct", pct(modMoved), "%", "names moving when a node joins, hash modulo n")
	d.fig("discovery_ring_moved_pct", pct(ringMoved), "%", "the same with placer's ring")
	d.fig("discovery_ring_moved_ratio", ratio, "", "ring moved / ideal 1/(n+1)")
	// The ring's share of the new member is within about 2% of ideal; the
	// rest is sampling noise: allow five standard deviations of it.
	tol := 0.1 + 5*math.Sqrt((1-ideal)/(ideal*float64(d.o.Names)))
	if math.Abs(ratio-1) > tol || modMoved <= ringMoved {
		return fmt.Errorf("%w: ring moved %d (ratio %.3f), modulo %d", ErrCheck, ringMoved, ratio, modMoved)
	}
	return nil
}

// ensureLists creates the todo lists if no step did yet (for --step).
func (d *demo) ensureLists(ctx context.Context) error {
	if d.expect != nil {
		return nil
	}
	d.note("(this step needs the todo lists of the discovery step: creating them)")
	return d.createLists(ctx)
}

// createLists starts --keys todo lists, from every node in turn: two
// sends ("milk", "eggs") and a call that reads them back.
func (d *demo) createLists(ctx context.Context) error {
	d.iex(d.nodes[0].name, ":rpc.call(node_for_list(name), Todo.Cache, :server_process, [name])")
	d.placer("c.Send(ctx, %q, name, add) / c.Call(ctx, %q, name, get) from any node c", demoTodoKind, demoTodoKind)
	cs := demoClusters(d.nodes)
	start := time.Now()
	items := []string{"milk", "eggs"}
	err := demoForEach(ctx, d.o.Keys, func(i int) error {
		c := cs[i%len(cs)]
		for _, item := range items {
			if err := placement.SendT(ctx, c, demoTodoKind, demoListName(i), demoTodoReq{Op: "add", Item: item}); err != nil {
				return err
			}
		}
		// Sends and calls from one goroutine to one key arrive in order.
		st, err := demoGetList(ctx, c, i)
		if err == nil && !slices.Equal(st.Items, items) {
			err = fmt.Errorf("%w: items %q, want %q", ErrCheck, st.Items, items)
		}
		return err
	})
	if err != nil {
		return err
	}
	d.expect = slices.Repeat([]int{len(items)}, d.o.Keys)
	took := demoSince(start)
	d.note("%d todo lists started on their owners, 2 items each, from all nodes in turn: %.0f ms", d.o.Keys, took)
	d.fig("discovery_create_ms", took, "ms", fmt.Sprintf("%d lists created lazily (2 sends and a call each)", d.o.Keys))
	return nil
}

// demoGetList reads list i through c.
func demoGetList(ctx context.Context, c *placement.Cluster, i int) (demoTodoState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return placement.CallT[demoTodoReq, demoTodoState](ctx, c, demoTodoKind, demoListName(i), demoTodoReq{Op: "get"})
}

// demoForEach runs f(0..n-1) on 16 goroutines and returns the first error
// (naming its list); it returns once every goroutine has ended.
func demoForEach(ctx context.Context, n int, f func(i int) error) error {
	return par.ForEach(ctx, n, 16, func(i int) error {
		if err := f(i); err != nil {
			return fmt.Errorf("%s: %w", demoListName(i), err)
		}
		return nil
	})
}

// checkLists reads every list and compares its item count with what the
// demo wrote; a difference is a lost state or message.
func (d *demo) checkLists(ctx context.Context) error {
	cs := demoClusters(d.nodes)
	return demoForEach(ctx, len(d.expect), func(i int) error {
		st, err := demoGetList(ctx, cs[i%len(cs)], i)
		if err == nil && len(st.Items) != d.expect[i] {
			err = fmt.Errorf("%w: %d items, want %d", ErrCheck, len(st.Items), d.expect[i])
		}
		return err
	})
}

// printDistribution prints the lists per node against the ring's shares.
func (d *demo) printDistribution() {
	m, _ := demoHosts(d.nodes)
	per := map[string]int{}
	for _, h := range m {
		per[h[0]]++
	}
	shares, _ := ring.Shares(d.nodes[0].c.View().Ring())
	rows := [][]string{{"node", "lists", "share", "ring share"}}
	for _, dn := range d.nodes {
		rows = append(rows, []string{dn.name, fmt.Sprint(per[dn.name]),
			fmt.Sprintf("%.1f%%", 100*float64(per[dn.name])/float64(d.o.Keys)), fmt.Sprintf("%.1f%%", 100*shares[dn.name])})
	}
	d.table(rows...)
	d.fig("discovery_lists_per_node", per, "", "where the lists live")
}

// sampleCall reads a list that lives on node1 from the last node.
func (d *demo) sampleCall(ctx context.Context) error {
	from := d.nodes[len(d.nodes)-1]
	i := 0
	for ; i < d.o.Keys-1 && from.c.Owner(demoListName(i)) == from.name; i++ {
	}
	key := demoListName(i)
	d.iex(from.name, fmt.Sprintf(":rpc.call(node_for_list(%q), Todo.Cache, :server_process, [%q]) |> Todo.Server.entries()", key, key))
	d.placer("placement.CallT[todoReq, todoState](ctx, %s, %q, %q, todoReq{Op: \"get\"})", demoVar(from.name), demoTodoKind, key)
	st, err := demoGetList(ctx, from.c, i)
	if err != nil {
		return err
	}
	pid, err := from.c.Whereis(ctx, demoTodoKind, key)
	if err != nil {
		return err
	}
	d.result("%q   # lives on its owner %s as #PID%s", st.Items, from.c.Owner(key), pid)
	return nil
}
