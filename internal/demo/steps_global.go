package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/global"
)

// Step 5: global process registration (:global), on the ring.

// stepGlobal: :global.register_name answers :yes on node1 and :no on node2,
// whereis_name on node2 is a local read of node1's PID, and a GenServer
// started under {:global, alias} is called by its name from another node.
func stepGlobal(ctx context.Context, d *demo) error {
	n1, n2 := d.nodes[0], d.nodes[1]
	shell1, shell2, err := demoShells(n1, n2)
	if err != nil {
		return err
	}
	defer shell1.Close()
	defer shell2.Close()
	if err := d.registerYesNo(ctx, n1, n2, shell1, shell2); err != nil {
		return err
	}
	if err := d.whereisGlobal(ctx, n2, shell1.Self()); err != nil {
		return err
	}
	return d.globalGenServer(ctx, n1, n2)
}

const demoGlobalName = "todo_list/bob" // the seed's {:todo_list, "bob"}

func (d *demo) registerYesNo(ctx context.Context, n1, n2 *demoNode, shell1, shell2 *node.Inbox) error {
	d.note("the authority of a name is the ring owner of the name (%s for %q), not a cluster-wide lock", n1.c.Owner(demoGlobalName), demoGlobalName)
	d.iex(n1.name, `:global.register_name({:todo_list, "bob"}, self())`)
	d.placer("g1.RegisterName(ctx, %q, shell1.Self())   # gN: node N's *global.Service", demoGlobalName)
	start := time.Now()
	if err := n1.g.RegisterName(ctx, demoGlobalName, shell1.Self()); err != nil {
		return err
	}
	took := float64(time.Since(start).Microseconds())
	d.result(":yes   # in %.0f µs", took)
	d.note("the name's authority started for it; in a view younger than RecoveryWindow (10 s) a fresh")
	d.note("authority first asks every node what it knows (placer bench cluster times the steady state)")
	d.fig("global_register_us", took, "µs", "register_name on node1, answered by the name's authority")
	d.iex(n2.name, `:global.register_name({:todo_list, "bob"}, self())`)
	d.placer("g2.RegisterName(ctx, %q, shell2.Self())", demoGlobalName)
	err := n2.g.RegisterName(ctx, demoGlobalName, shell2.Self())
	var taken *global.TakenError
	if !errors.As(err, &taken) || taken.Holder != shell1.Self() {
		return fmt.Errorf("%w: second register_name: %v", ErrCheck, err)
	}
	d.result(":no   # %v", err)
	d.fig("global_register_second", "no", "", "register_name of the same name on node2")
	return nil
}

// whereisGlobal waits until node2's replica has the name (the authority's
// dissemination), then times a whereis_name (a local read).
func (d *demo) whereisGlobal(ctx context.Context, n2 *demoNode, want node.PID) error {
	d.iex(n2.name, `:global.whereis_name({:todo_list, "bob"})`)
	d.placer("g2.WhereisName(%q)   # a read of node2's replica: no round trip", demoGlobalName)
	if err := d.waitFor(ctx, "the name in node2's replica", func() bool { pid, _ := n2.g.WhereisName(demoGlobalName); return pid == want }); err != nil {
		return err
	}
	const reads = 100_000
	start := time.Now()
	var pid node.PID
	for range reads {
		pid, _ = n2.g.WhereisName(demoGlobalName)
	}
	ns := float64(time.Since(start).Nanoseconds()) / reads
	d.result("#PID%s   # %.0f ns a read (%d reads)", pid, ns, reads)
	d.fig("global_whereis_ns", ns, "ns", "whereis_name on another node than the holder's: a local read")
	if pid != want {
		return fmt.Errorf("%w: whereis_name on node2 = %v, want %v", ErrCheck, pid, want)
	}
	return nil
}

// globalGenServer: GenServer.start_link(..., name: {:global, alias}) on
// node3, then GenServer.call({:global, alias}, req) from node2.
func (d *demo) globalGenServer(ctx context.Context, n1, n2 *demoNode) error {
	n3 := d.nodes[len(d.nodes)-1]
	d.iex(n1.name, "GenServer.start_link(EchoServer, :args, name: {:global, :some_global_alias})   # on "+n3.name)
	d.placer("g1.StartName(ctx, \"some_global_alias\", node.KindEcho, global.StartOpts{Node: %q})", n3.name)
	pid, err := n1.g.StartName(ctx, "some_global_alias", node.KindEcho, global.StartOpts{Node: n3.name})
	if err != nil {
		return err
	}
	defer func() { _ = n1.c.Node().Exit(pid, node.Reason{Kind: node.Shutdown}) }()
	d.result("{:ok, #PID%s}", pid)
	d.iex(n2.name, "GenServer.call({:global, :some_global_alias}, {:request, :args})")
	d.placer("g2.CallName(ctx, \"some_global_alias\", []byte(\"{:request, :args}\"))   # the echo server answers with the request")
	start := time.Now()
	out, err := n2.g.CallName(ctx, "some_global_alias", []byte("{:request, :args}"))
	took := float64(time.Since(start).Microseconds())
	if err != nil {
		return err
	}
	d.result("%q   # in %.0f µs", out, took)
	d.fig("global_call_us", took, "µs", "GenServer.call({:global, alias}) from node2 to node3")
	return nil
}

// demoShells returns an inbox on each of two nodes (the iex shells' self()).
func demoShells(n1, n2 *demoNode) (*node.Inbox, *node.Inbox, error) {
	shell1, err := n1.c.Node().NewInbox()
	if err != nil {
		return nil, nil, err
	}
	shell2, err := n2.c.Node().NewInbox()
	if err != nil {
		shell1.Close()
		return nil, nil, err
	}
	return shell1, shell2, nil
}
