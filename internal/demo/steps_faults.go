package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
)

// Step 11: a node crashes.

// stepCrash: node1 monitors a todo list living on node3 and links to a
// process there; node3 crashes. DOWN and EXIT say noconnection, Serf marks
// node3 failed, its lists are served again (empty: the todo kind has
// R = 1, so their state died with it, as documented); then node3 restarts
// and takes its share back.
func stepCrash(ctx context.Context, d *demo) error {
	if err := d.ensureLists(ctx); err != nil {
		return err
	}
	victim := d.node(demoName(d.o.Nodes))
	if victim == nil || victim == d.nodes[0] {
		victim = d.nodes[len(d.nodes)-1]
	}
	mon, err := d.nodes[0].c.Node().NewInbox()
	if err != nil {
		return err
	}
	defer mon.Close()
	if err := d.watch(ctx, mon, victim); err != nil {
		return err
	}
	if err := d.watchGlobal(ctx, mon, victim); err != nil {
		return err
	}
	owner := d.nodes[0].c.Owner(demoCrashName)
	lost := demoHostedLists(victim)
	d.shellCmd(fmt.Sprintf("kill -9 <the OS pid of %s>   # no leave: a crash", victim.name))
	d.placer("its transport closes first (connections drop, as in a crash), then %s.Close() (no Leave)", demoVar(victim.name))
	start := time.Now()
	if err := d.crash(victim); err != nil {
		return err
	}
	if err := d.flushCrash(ctx, mon, victim, start); err != nil {
		return err
	}
	if err := d.globalReleased(ctx, start, owner, victim.name); err != nil {
		return err
	}
	if err := d.reown(ctx, victim, lost, start); err != nil {
		return err
	}
	return d.restart(ctx, victim.name)
}

// watch monitors a todo list hosted by victim (or, if it hosts none, a
// process spawned there) and links mon to an echo process spawned there.
func (d *demo) watch(ctx context.Context, mon *node.Inbox, victim *demoNode) error {
	n1 := d.nodes[0]
	pid, err := d.watchedPID(ctx, victim)
	if err != nil {
		return err
	}
	d.result("#Reference<%d>   # pid #PID%s", mon.Monitor(pid), pid)
	d.iex(n1.name, fmt.Sprintf("Process.link(Node.spawn(:%q, fn -> receive do: (_ -> :ok) end))", victim.name))
	d.placer("pid, _ := c1.Node().SpawnOn(ctx, %q, node.KindEcho, nil, node.SpawnOpts{}); shell.Link(pid)", victim.name)
	epid, err := n1.c.Node().SpawnOn(ctx, victim.name, node.KindEcho, nil, node.SpawnOpts{})
	if err == nil {
		err = mon.Link(epid)
	}
	if err == nil { // a round trip: the monitor and link frames are there
		_, err = mon.Call(ctx, epid, []byte("ping"))
	}
	d.result("true   # linked to #PID%s", epid)
	return err
}

// watchedPID narrates Process.monitor's target: a todo list on victim, or
// an echo process spawned there if it hosts no list.
func (d *demo) watchedPID(ctx context.Context, victim *demoNode) (node.PID, error) {
	n1 := d.nodes[0]
	if lists := demoHostedLists(victim); len(lists) > 0 {
		key := demoListName(lists[0])
		d.iex(n1.name, fmt.Sprintf("Process.monitor(pid)   # pid: the todo list %q, on %s", key, victim.name))
		d.placer("pid, _ := c1.Whereis(ctx, %q, %q); shell.Monitor(pid)", demoTodoKind, key)
		return n1.c.Whereis(ctx, demoTodoKind, key)
	}
	d.iex(n1.name, fmt.Sprintf("Process.monitor(Node.spawn(:%q, fn -> receive do: (_ -> :ok) end))", victim.name))
	d.placer("pid, _ := c1.Node().SpawnOn(ctx, %q, node.KindEcho, nil, node.SpawnOpts{}); shell.Monitor(pid)", victim.name)
	return n1.c.Node().SpawnOn(ctx, victim.name, node.KindEcho, nil, node.SpawnOpts{})
}

// demoHostedLists returns the indexes of the lists dn hosts.
func demoHostedLists(dn *demoNode) []int {
	var out []int
	for _, h := range dn.c.Hosted() {
		var i int
		if _, err := fmt.Sscanf(h.Key, "list-%d", &i); err == nil && h.Kind == demoTodoKind {
			out = append(out, i)
		}
	}
	return out
}

// flushCrash shows what node1's shell and its monitor_nodes inbox got.
func (d *demo) flushCrash(ctx context.Context, mon *node.Inbox, victim *demoNode, start time.Time) error {
	d.iex(d.nodes[0].name, "flush()")
	got, err := d.flush(ctx, mon, "two DOWNs and an EXIT", func(ms []demoMsg) bool { return len(ms) >= 3 })
	if err != nil {
		return err
	}
	var down, exit node.Reason
	for _, m := range got {
		d.printf("   %s   # after %.1f ms\n", demoErlMsg(m.m), float64(m.at.Sub(start).Microseconds())/1000)
		switch x := m.m.(type) {
		case node.Down:
			down = x.Reason
		case node.Exit:
			exit = x.Reason
		}
	}
	d.fig("crash_down_reason", down.Kind.String(), "", "DOWN of a process on the crashed node")
	d.fig("crash_exit_reason", exit.Kind.String(), "", "EXIT of a process linked to it")
	if down.Kind != node.NoConnection || exit.Kind != node.NoConnection {
		return fmt.Errorf("%w: DOWN %v, EXIT %v, want noconnection", ErrCheck, down, exit)
	}
	d.note("and node1's :net_kernel.monitor_nodes inbox:")
	evs, err := d.flush(ctx, d.shell, "nodedown "+victim.name, func(ms []demoMsg) bool { return demoHasNodeDown(ms, victim.name) })
	d.printMsgs(evs)
	return err
}

func demoHasNodeDown(ms []demoMsg, name string) bool {
	for _, m := range ms {
		if x, ok := m.m.(node.NodeDown); ok && x.Node == name {
			return true
		}
	}
	return false
}

// reown waits until Serf drops the victim and every list it hosted
// answers again, and counts the lists that came back empty.
func (d *demo) reown(ctx context.Context, victim *demoNode, lost []int, start time.Time) error {
	if err := d.waitViews(ctx, d.nodes); err != nil {
		return err
	}
	viewMS := demoSince(start)
	cs := demoClusters(d.nodes)
	empty := make([]bool, len(lost))
	err := demoForEach(ctx, len(lost), func(j int) error {
		return d.waitFor(ctx, demoListName(lost[j])+" served again", func() bool {
			st, err := demoGetList(ctx, cs[j%len(cs)], lost[j])
			empty[j] = err == nil && len(st.Items) == 0
			return err == nil
		})
	})
	if err != nil {
		return err
	}
	reownMS, fresh := demoSince(start), 0
	for j, i := range lost {
		if empty[j] {
			fresh++
		}
		d.expect[i] = 0
	}
	d.reportReown(victim, len(lost), fresh, viewMS, reownMS)
	if err := d.checkLists(ctx); err != nil {
		return fmt.Errorf("after the crash: %w", err)
	}
	return nil
}

func (d *demo) reportReown(victim *demoNode, lost, fresh int, viewMS, reownMS float64) {
	d.table([]string{"what", "after the crash"},
		[]string{"Serf marked " + victim.name + " failed (every view dropped it)", fmt.Sprintf("%.0f ms", viewMS)},
		[]string{fmt.Sprintf("all %d of its lists served again by the survivors", lost), fmt.Sprintf("%.0f ms", reownMS)})
	d.note("%d of those %d lists came back empty: the todo kind has R = 1 (one copy), so a", fresh, lost)
	d.note("crash loses the state of the keys it hosted; a kind with KindSpec{Replicas: 2}")
	d.note("keeps every acknowledged write (docs/placement.md, \"Replication\"; the agent's kv does)")
	d.fig("crash_view_ms", viewMS, "ms", "crash -> every survivor's view dropped it (Serf)")
	d.fig("crash_reowned_ms", reownMS, "ms", fmt.Sprintf("crash -> all %d of its lists served again", lost))
	d.fig("crash_lists_restarted_empty", fresh, "lists", "state lost with the crashed node, as documented")
}

// restart starts a crashed node again under its old name (a new creation)
// and waits until it hosts its share again.
func (d *demo) restart(ctx context.Context, name string) error {
	d.shellCmd(fmt.Sprintf("iex --name %s -S mix   # restarted", name))
	d.placer("placement.Start(cfg)   # same name, a new creation: old PIDs stay dead")
	start := time.Now()
	dn, err := d.startNode(name, 0, 0)
	if err != nil {
		return err
	}
	if err := d.waitViews(ctx, d.nodes); err != nil {
		return err
	}
	if err := d.waitFor(ctx, "every list on its owner", func() bool { return demoSettled(d.nodes, d.o.Keys) }); err != nil {
		return err
	}
	took := demoSince(start)
	d.note("%s is back (creation %#x); its %d lists moved back to it in %.0f ms", name, dn.c.Node().Creation(), len(dn.c.Hosted()), took)
	d.fig("crash_restart_ms", took, "ms", "restart -> every list on its owner again")
	return d.checkLists(ctx)
}
