package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/placerhq/placer/node"
)

// Steps 1-5: the node runtime (no ring yet).

// stepStart: node(), Node.connect, Node.list, Node.list([:this, :visible]).
func stepStart(ctx context.Context, d *demo) error {
	n1, n2, n3 := d.nodes[0], d.nodes[1], d.nodes[2]
	d.iex(n1.name, "node()")
	d.placer("c1.Node().Self()")
	d.result("%q", n1.c.Node().Self())
	if err := d.connect(ctx, n2, n1); err != nil {
		return err
	}
	d.nodeList(n2, "Node.list()", node.NodesVisible)
	if err := d.connect(ctx, n3, n2); err != nil {
		return err
	}
	d.nodeList(n3, "Node.list()", node.NodesVisible)
	d.note("placer nodes do not connect transitively (Erlang's global does): node3 knows node1")
	d.note("from Serf and connects on first use, or now:")
	if err := d.connect(ctx, n3, n1); err != nil {
		return err
	}
	all := d.nodeList(n3, "Node.list([:this, :visible])", node.NodesThis|node.NodesVisible)
	d.placer("c3.View().Members   # the ring members, from Serf membership")
	d.result("%q", demoViewNames(n3.c.View()))
	d.fig("start_list_this_visible", all, "", "Node.list([:this, :visible]) on node3")
	if want := demoNodeNames(d.nodes[:3]); !demoContainsAll(all, want) {
		return fmt.Errorf("%w: node3 lists %v, want %v", ErrCheck, all, want)
	}
	return nil
}

// connect narrates and does Node.connect from one node to another.
func (d *demo) connect(ctx context.Context, from, to *demoNode) error {
	d.iex(from.name, fmt.Sprintf("Node.connect(:%q)", to.name))
	d.placer("%s.Node().Connect(ctx, %q)", demoVar(from.name), to.name)
	ok := from.c.Node().Connect(ctx, to.name)
	d.result("%v", ok)
	if !ok {
		return fmt.Errorf("%w: %s could not connect to %s", ErrCheck, from.name, to.name)
	}
	return nil
}

// nodeList narrates Node.list/1 on dn.
func (d *demo) nodeList(dn *demoNode, elixir string, set node.NodeSet) []string {
	d.iex(dn.name, elixir)
	d.placer("%s.Node().Nodes(%s)", demoVar(dn.name), demoSetName(set))
	got := dn.c.Node().Nodes(set)
	d.result("%q", got)
	return got
}

func demoSetName(set node.NodeSet) string {
	var parts []string
	if set&node.NodesThis != 0 {
		parts = append(parts, "node.NodesThis")
	}
	switch set & node.NodesConnected {
	case node.NodesConnected:
		parts = append(parts, "node.NodesConnected")
	case node.NodesVisible:
		parts = append(parts, "node.NodesVisible")
	case node.NodesHidden:
		parts = append(parts, "node.NodesHidden")
	}
	return strings.Join(parts, " | ")
}

// demoVar is the variable the narration uses for a node: "c3" for node3.
func demoVar(name string) string {
	if n, ok := strings.CutPrefix(name, "node"); ok {
		if i := strings.IndexByte(n, '@'); i > 0 {
			return "c" + n[:i]
		}
	}
	return strings.SplitN(name, "@", 2)[0]
}

func demoContainsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// stepMonitor: :net_kernel.monitor_nodes(true) on node1, then nodeup
// events as node2 and node3 connect.
func stepMonitor(ctx context.Context, d *demo) error {
	n1 := d.nodes[0]
	d.iex(n1.name, ":net_kernel.monitor_nodes(true)")
	d.placer("shell, _ := c1.Node().NewInbox(); shell.MonitorNodes(true, false)")
	d.note("done when node1 started, before any other node existed")
	for _, dn := range d.nodes[1:3] {
		if err := d.connect(ctx, dn, n1); err != nil {
			return err
		}
	}
	d.iex(n1.name, "flush()")
	want := demoNodeNames(d.nodes[1:3])
	got, err := d.flush(ctx, d.shell, "nodeup of "+strings.Join(want, ", "), func(ms []demoMsg) bool {
		return demoContainsAll(demoNodeUps(ms), want)
	})
	d.printMsgs(got)
	d.fig("monitor_nodeups", demoNodeUps(got), "", "nodeup events node1's monitor got")
	return err
}

func demoNodeUps(ms []demoMsg) []string {
	var out []string
	for _, m := range ms {
		if u, ok := m.m.(node.NodeUp); ok {
			out = append(out, u.Node)
		}
	}
	return out
}

// demoMsg is a message and when it was received.
type demoMsg struct {
	m  node.Msg
	at time.Time
}

// flush receives from ib until done holds (failing after the demo's
// timeout), then takes whatever else is already queued, like flush().
func (d *demo) flush(ctx context.Context, ib *node.Inbox, what string, done func([]demoMsg) bool) ([]demoMsg, error) {
	var got []demoMsg
	rctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	for !done(got) {
		m, err := ib.Receive(rctx)
		if err != nil {
			return got, fmt.Errorf("%w waiting for %s (%d messages so far): %w", ErrTimeout, what, len(got), err)
		}
		got = append(got, demoMsg{m, time.Now()})
	}
	for ib.Len() > 0 {
		m, err := ib.Receive(ctx)
		if err != nil {
			break
		}
		got = append(got, demoMsg{m, time.Now()})
	}
	return got, nil
}

func (d *demo) printMsgs(ms []demoMsg) {
	for _, m := range ms {
		d.printf("   %s\n", demoErlMsg(m.m))
	}
}

// demoErlMsg formats a message the way iex's flush() prints it.
func demoErlMsg(m node.Msg) string {
	switch x := m.(type) {
	case node.NodeUp:
		return fmt.Sprintf("{:nodeup, :%q}", x.Node)
	case node.NodeDown:
		return fmt.Sprintf("{:nodedown, :%q}   # %v", x.Node, x.Reason)
	case node.Down:
		return fmt.Sprintf("{:DOWN, #Reference<%d>, :process, #PID%s, :%s}", x.Ref, x.PID, x.Reason)
	case node.Exit:
		return fmt.Sprintf("{:EXIT, #PID%s, :%s}", x.From, x.Reason)
	case node.Message:
		return fmt.Sprintf("%s   # from #PID%s", x.Payload, x.From)
	}
	return fmt.Sprintf("%#v", m)
}

// stepSpawn: Node.spawn of a printer on node2, then ten remote spawns
// that each send {:response, 10 * n} back, and flush().
func stepSpawn(ctx context.Context, d *demo) error {
	n1, n2 := d.nodes[0], d.nodes[1]
	ib, err := n1.c.Node().NewInbox()
	if err != nil {
		return err
	}
	defer ib.Close()
	if err := d.spawnPrinter(ctx, n1, n2, ib); err != nil {
		return err
	}
	return d.spawnResponders(ctx, n1, n2, ib)
}

func (d *demo) spawnPrinter(ctx context.Context, n1, n2 *demoNode, ib *node.Inbox) error {
	d.iex(n1.name, fmt.Sprintf("Node.spawn(:%q, fn -> IO.puts(\"Hello from #{node}!\") end)", n2.name))
	d.placer("c1.Node().SpawnOn(ctx, %q, node.KindPrinter, <the shell's PID>, node.SpawnOpts{})", n2.name)
	args, err := node.Encode(n1.c.Node(), ib.Self())
	if err != nil {
		return err
	}
	pid, err := n1.c.Node().SpawnOn(ctx, n2.name, node.KindPrinter, args, node.SpawnOpts{})
	if err != nil {
		return err
	}
	d.result("#PID%s", pid)
	got, err := d.flush(ctx, ib, "the printer's line", func(ms []demoMsg) bool { return len(ms) > 0 })
	if err != nil {
		return err
	}
	line, _ := node.Decode[string](n1.c.Node(), got[0].m.(node.Message).Payload)
	d.printf("   %s\n", line)
	d.note("closures do not cross the wire: the kind `printer` is registered on every node; it")
	d.note("prints on node2 and sends the line to the caller (IO.puts's group leader in Erlang)")
	d.fig("spawn_hello", line, "", "what the printer spawned on node2 said")
	if want := "Hello from " + n2.name + "!"; line != want {
		return fmt.Errorf("%w: the printer said %q, want %q", ErrCheck, line, want)
	}
	return nil
}

func (d *demo) spawnResponders(ctx context.Context, n1, n2 *demoNode, ib *node.Inbox) error {
	d.iex(n1.name, "caller = self()")
	d.iex(n1.name, fmt.Sprintf("Enum.each(1..10, fn n -> Node.spawn(:%q, fn -> send(caller, {:response, 10 * n}) end) end)", n2.name))
	d.placer("for n := 1..10: c1.Node().SpawnOn(ctx, %q, %q, {caller, n}, node.SpawnOpts{})", n2.name, demoResponderKind)
	start := time.Now()
	for i := 1; i <= 10; i++ {
		args, err := node.Encode(n1.c.Node(), demoResponderArgs{Caller: ib.Self(), N: i})
		if err == nil {
			_, err = n1.c.Node().SpawnOn(ctx, n2.name, demoResponderKind, args, node.SpawnOpts{})
		}
		if err != nil {
			return err
		}
	}
	d.iex(n1.name, "flush()")
	got, err := d.flush(ctx, ib, "ten responses", func(ms []demoMsg) bool { return len(ms) >= 10 })
	if err != nil {
		return err
	}
	took := demoSince(start)
	var vals []int
	for _, m := range got {
		r, _ := node.Decode[demoResponse](n1.c.Node(), m.m.(node.Message).Payload)
		d.printf("   {:response, %d}\n", r.Response)
		vals = append(vals, r.Response)
	}
	d.note("10 remote spawns and their replies in %.1f ms", took)
	d.fig("spawn_responses", vals, "", "the ten {:response, 10 * n} received, in arrival order")
	d.fig("spawn_10_remote_ms", took, "ms", "ten remote spawns, until every reply arrived")
	slices.Sort(vals)
	if !slices.Equal(vals, []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) {
		return fmt.Errorf("%w: responses %v, want 10..100", ErrCheck, vals)
	}
	return nil
}
