package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/global"
)

// The global names of the crash and partition steps.

const demoCrashName = "todo_list/alice"

// watchGlobal: a process on victim registers a global name; node1 monitors
// whereis_name's answer (the seed's "Links and monitors" example).
func (d *demo) watchGlobal(ctx context.Context, mon *node.Inbox, victim *demoNode) error {
	n1 := d.nodes[0]
	pid, err := n1.c.Node().SpawnOn(ctx, victim.name, node.KindEcho, nil, node.SpawnOpts{})
	if err != nil {
		return err
	}
	d.iex(victim.name, `:global.register_name({:todo_list, "alice"}, self())`)
	d.placer("g%s.RegisterName(ctx, %q, pid)   # pid: a process on %s", demoVar(victim.name)[1:], demoCrashName, victim.name)
	if err := victim.g.RegisterName(ctx, demoCrashName, pid); err != nil {
		return err
	}
	d.result(":yes")
	d.iex(n1.name, `Process.monitor(:global.whereis_name({:todo_list, "alice"}))`)
	d.placer("pid, _ := g1.WhereisName(%q); shell.Monitor(pid)", demoCrashName)
	if err := d.waitFor(ctx, "the name on node1", func() bool { p, _ := n1.g.WhereisName(demoCrashName); return p == pid }); err != nil {
		return err
	}
	d.result("#Reference<%d>   # pid #PID%s", mon.Monitor(pid), pid)
	return nil
}

// globalReleased: once the crashed node's process is known gone, the name
// is free on every node. owner was the name's authority node.
func (d *demo) globalReleased(ctx context.Context, start time.Time, owner, victim string) error {
	d.iex(d.nodes[0].name, `:global.whereis_name({:todo_list, "alice"})`)
	d.placer("g1.WhereisName(%q)", demoCrashName)
	err := d.waitFor(ctx, "the name released on every node", func() bool {
		for _, dn := range d.nodes {
			if _, ok := dn.g.WhereisName(demoCrashName); ok {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	took := demoSince(start)
	d.result(":undefined   # on every node %.0f ms after the crash", took)
	if owner == victim {
		d.note("the name's authority lived on the crashed node too: its next owner took over once Serf")
		d.note("marked it failed, learned the name from the survivors' replicas and found the holder gone")
	} else {
		d.note("the name's authority, on %s, got DOWN noconnection for the holder and released it", owner)
	}
	d.fig("crash_global_released_ms", took, "ms", "crash -> a global name held there is free on every node")
	return nil
}

const demoSplitName = "todo_list/split"

// registerBothSides registers one name on each side of the partition with
// a process of that side; both answer :yes (availability first).
func (d *demo) registerBothSides(ctx context.Context, a, b []*demoNode) ([2]*node.Inbox, error) {
	var shells [2]*node.Inbox
	for i, side := range [][]*demoNode{a, b} {
		dn := side[0]
		ib, err := dn.c.Node().NewInbox()
		if err != nil {
			return shells, err
		}
		shells[i] = ib
		d.iex(dn.name, `:global.register_name({:todo_list, "split"}, self())   # side `+string(rune('A'+i)))
		if err := dn.g.RegisterName(ctx, demoSplitName, ib.Self()); err != nil {
			return shells, err
		}
		d.result(":yes   # #PID%s", ib.Self())
	}
	return shells, nil
}

// nameAfterHeal waits until every node sees one holder of the split name
// and the loser was told (a NameConflict message), and reports it.
func (d *demo) nameAfterHeal(ctx context.Context, shells [2]*node.Inbox, start time.Time) error {
	var winner node.PID
	err := d.waitFor(ctx, "one holder of the name on every node", func() bool {
		winner, _ = d.nodes[0].g.WhereisName(demoSplitName)
		for _, dn := range d.nodes {
			if p, _ := dn.g.WhereisName(demoSplitName); p.IsZero() || p != winner {
				return false
			}
		}
		return winner == shells[0].Self() || winner == shells[1].Self()
	})
	if err != nil {
		return err
	}
	took := demoSince(start)
	loser := shells[0]
	if winner == loser.Self() {
		loser = shells[1]
	}
	d.iex(d.nodes[0].name, `:global.whereis_name({:todo_list, "split"})`)
	d.result("#PID%s   # the same on every node %.0f ms after the heal (the default resolver keeps the earlier registration)", winner, took)
	return d.loserTold(ctx, loser, took)
}

func (d *demo) loserTold(ctx context.Context, loser *node.Inbox, took float64) error {
	got, err := d.flush(ctx, loser, "the loser's notice", func(ms []demoMsg) bool { return len(ms) > 0 })
	if err != nil {
		return err
	}
	m, _ := got[0].m.(node.Message)
	nc, ok := parseConflict(m.Payload)
	d.note("the loser, #PID%s, got %s", loser.Self(), nc)
	d.fig("partition_name_resolved_ms", took, "ms", "heal -> one holder of a name registered on both sides, on every node")
	d.fig("partition_name_loser_told", ok, "", "the losing process got a NameConflict message")
	if !ok {
		return fmt.Errorf("%w: the loser got %#v", ErrCheck, got[0].m)
	}
	return nil
}

// parseConflict formats a NameConflict notice the way Erlang's
// notify_all_name sends it.
func parseConflict(payload []byte) (string, bool) {
	nc, ok := global.ParseNameConflict(payload)
	if !ok {
		return fmt.Sprintf("%q (not a conflict notice)", payload), false
	}
	return fmt.Sprintf("{:global_name_conflict, %q, #PID%s}", nc.Name, nc.Winner), true
}
