package demo

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/placerhq/placer/node"
)

// stepRegister: Process.register on two nodes and a send to {:shell,
// node2}; then GenServer.abcast and GenServer.multi_call.
func stepRegister(ctx context.Context, d *demo) error {
	n1, n2 := d.nodes[0], d.nodes[1]
	shells := make([]*node.Inbox, 2)
	for i, dn := range []*demoNode{n1, n2} {
		ib, err := dn.c.Node().NewInbox()
		if err != nil {
			return err
		}
		defer ib.Close()
		d.iex(dn.name, "Process.register(self(), :shell)")
		d.placer("shell%d.Register(\"shell\")", i+1)
		if err := ib.Register("shell"); err != nil {
			return err
		}
		d.result("true")
		shells[i] = ib
	}
	if err := d.sendToShell(ctx, shells[0], shells[1], n2); err != nil {
		return err
	}
	return d.abcastMultiCall(ctx, n1, d.nodes[:3])
}

func (d *demo) sendToShell(ctx context.Context, from, to *node.Inbox, n2 *demoNode) error {
	d.iex(d.nodes[0].name, fmt.Sprintf("send({:shell, :%q}, \"Hello from node1!\")", n2.name))
	d.placer("node.SendT(shell1, node.Named{Name: \"shell\", Node: %q}, \"Hello from node1!\")", n2.name)
	if err := node.SendT(from, node.Named{Name: "shell", Node: n2.name}, "Hello from node1!"); err != nil {
		return err
	}
	d.iex(n2.name, "flush()")
	got, err := d.flush(ctx, to, "the message to {:shell, node2}", func(ms []demoMsg) bool { return len(ms) > 0 })
	if err != nil {
		return err
	}
	d.printMsgs(got)
	m := got[0].m.(node.Message)
	s, _ := node.Decode[string](n2.c.Node(), m.Payload)
	d.fig("register_received", s, "", "what {:shell, node2} received from node1's shell")
	if s != "Hello from node1!" || m.From != from.Self() {
		return fmt.Errorf("%w: {:shell, node2} got %q from %s", ErrCheck, s, m.From)
	}
	return nil
}

// abcastMultiCall registers a demo server as :demo_server on each node,
// casts to all with abcast, and calls all (plus a node that does not
// exist) with multi_call.
func (d *demo) abcastMultiCall(ctx context.Context, n1 *demoNode, nodes []*demoNode) error {
	d.note("a GenServer registered as :demo_server on every node (kind %q, spawned from node1)", demoServerKind)
	names := demoNodeNames(nodes)
	for _, name := range names {
		if _, err := n1.c.Node().SpawnOn(ctx, name, demoServerKind, nil, node.SpawnOpts{Name: "demo_server"}); err != nil {
			return err
		}
	}
	d.iex(n1.name, fmt.Sprintf("GenServer.abcast(%s, :demo_server, \"hello from node1\")", demoErlList(names)))
	d.placer("c1.Node().Abcast(nodes, \"demo_server\", \"hello from node1\")")
	payload, _ := node.Encode(n1.c.Node(), "hello from node1")
	if err := n1.c.Node().Abcast(names, "demo_server", payload); err != nil {
		return err
	}
	d.result(":abcast")
	bad := "nosuch@127.0.0.1"
	d.iex(n1.name, fmt.Sprintf("GenServer.multi_call(%s, :demo_server, :casts)", demoErlList(append(names, bad))))
	d.placer("c1.Node().MultiCallName(ctx, nodes, \"demo_server\", req)")
	replies, errs := d.multiCallCasts(ctx, n1, append(slices.Clone(names), bad), len(names))
	return d.printMultiCall(n1, names, bad, replies, errs)
}

// multiCallCasts multi-calls the demo servers until each of want of them
// reports the cast (casts and calls from one sender arrive in order, so the
// first call normally sees it already).
func (d *demo) multiCallCasts(ctx context.Context, n1 *demoNode, names []string, want int) (map[string][]byte, map[string]error) {
	var replies map[string][]byte
	var errs map[string]error
	_ = d.waitFor(ctx, "every server to see the cast", func() bool {
		replies, errs = n1.c.Node().MultiCallName(ctx, names, "demo_server", nil)
		seen := 0
		for _, b := range replies {
			if r, err := node.Decode[demoServerReply](n1.c.Node(), b); err == nil && len(r.Casts) > 0 {
				seen++
			}
		}
		return seen == want
	})
	return replies, errs
}

func (d *demo) printMultiCall(n1 *demoNode, names []string, bad string, replies map[string][]byte, errs map[string]error) error {
	rows := [][]string{{"node", "reply (the casts it got)"}}
	ok := 0
	for _, name := range names {
		r, err := node.Decode[demoServerReply](n1.c.Node(), replies[name])
		if err == nil && slices.Equal(r.Casts, []string{"hello from node1"}) {
			ok++
		}
		rows = append(rows, []string{name, fmt.Sprintf("%q", r.Casts)})
	}
	d.result("replies:")
	d.table(rows...)
	d.result("bad nodes: %s: %v", bad, errs[bad])
	d.fig("register_multi_call_replies", ok, "nodes", "servers that answered multi_call, each with the abcast")
	if ok != len(names) || errs[bad] == nil {
		return fmt.Errorf("%w: multi_call: %d good replies of %d, bad nodes %v", ErrCheck, ok, len(names), errs)
	}
	return nil
}

func demoErlList(names []string) string {
	out := "["
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf(":%q", n)
	}
	return out + "]"
}

// stepRPC: :rpc.call(node2, Kernel, :abs, [-1]) and :rpc.multicall.
func stepRPC(ctx context.Context, d *demo) error {
	n1, n2 := d.nodes[0], d.nodes[1]
	d.iex(n1.name, fmt.Sprintf(":rpc.call(:%q, Kernel, :abs, [-1])", n2.name))
	d.placer("node.RPCT[int64, int64](ctx, c1.Node(), %q, node.RPCAbs, -1)", n2.name)
	start := time.Now()
	v, err := node.RPCT[int64, int64](ctx, n1.c.Node(), n2.name, node.RPCAbs, -1)
	took := float64(time.Since(start).Microseconds())
	if err != nil {
		return err
	}
	d.result("%d   # in %.0f µs", v, took)
	d.fig("rpc_abs", v, "", ":rpc.call(node2, Kernel, :abs, [-1])")
	d.fig("rpc_abs_us", took, "µs", "that rpc's round trip over TCP")
	if v != 1 {
		return fmt.Errorf("%w: abs(-1) = %d", ErrCheck, v)
	}
	return d.rpcMulticall(ctx, n1)
}

func (d *demo) rpcMulticall(ctx context.Context, n1 *demoNode) error {
	names := demoNodeNames(d.nodes)
	d.iex(n1.name, ":rpc.multicall(Node.list([:this, :visible]), :placer, :node_info, [])")
	d.placer("c1.Node().MultiCall(ctx, nodes, node.RPCNodeInfo, nil)")
	res, bad := n1.c.Node().MultiCall(ctx, names, node.RPCNodeInfo, nil)
	rows := [][]string{{"node", "creation", "processes", "uptime", "visible peers"}}
	sort.Strings(names)
	for _, name := range names {
		info, err := node.Decode[node.NodeInfo](n1.c.Node(), res[name])
		if err != nil {
			return fmt.Errorf("%w: node.info from %s: %v %v", ErrCheck, name, err, bad[name])
		}
		rows = append(rows, []string{name, fmt.Sprintf("%#x", info.Creation), fmt.Sprint(info.Processes),
			(time.Duration(info.UptimeMS) * time.Millisecond).String(), fmt.Sprint(len(info.Visible))})
	}
	d.table(rows...)
	d.fig("rpc_multicall_replies", len(res), "nodes", ":rpc.multicall of node.info, good replies")
	return nil
}
