package node

import (
	"context"
	"fmt"
)

// Built-in process kinds and rpc functions, added to every node unless the
// Config supplies its own of the same name.
const (
	// KindEcho: answers every call with its request, and sends every
	// message's payload back to its sender (if the sender is a process).
	KindEcho = "echo"
	// KindPrinter: the seed's `Node.spawn(node, fn -> IO.puts("Hello from
	// #{node}!") end)`. It logs "Hello from <node>!"; if its args are a PID
	// encoded with the node's codec it also sends that text (encoded as a
	// string) to the PID; then it exits normally.
	KindPrinter = "printer"

	// RPCNodeInfo returns NodeInfo (encoded with the codec); no args.
	RPCNodeInfo = "node.info"
	// RPCAbs is the seed's Kernel.abs: args an integer, result |x|.
	RPCAbs = "abs"
	// RPCProcesses returns the PIDs of the node's live processes ([]PID).
	RPCProcesses = "processes"
	// RPCRegistered returns the node's registered names, processes and
	// services (rex, the placement router, ...) alike, as Erlang's
	// registered() lists rex and net_kernel ([]string, sorted); the count
	// Stats.Registered reports.
	RPCRegistered = "registered"
	// RPCList returns the node's rpc functions with the shapes of their
	// arguments and results ([]RPCInfo, sorted by name).
	RPCList = "rpc.list"
)

// RPCInfo describes an rpc function (the rpc.list rpc).
type RPCInfo struct {
	Name   string `json:"name"`
	Args   string `json:"args"`   // the shape of the arguments ("-" for none), "?" if undescribed
	Result string `json:"result"` // the shape of the result, "?" if undescribed
}

// NodeInfo is what the node.info rpc returns.
type NodeInfo struct {
	Name        string   `json:"name"`
	Creation    uint32   `json:"creation"`
	Hidden      bool     `json:"hidden"`
	UptimeMS    int64    `json:"uptime_ms"`
	Processes   int      `json:"processes"`
	Visible     []string `json:"visible"`
	HiddenPeers []string `json:"hidden_peers"`
}

// Info returns this node's NodeInfo.
func (n *Node) Info() NodeInfo {
	return NodeInfo{
		Name: n.name, Creation: n.creation, Hidden: n.cfg.Hidden,
		UptimeMS: n.Uptime().Milliseconds(), Processes: int(n.nproc.Load()),
		Visible: n.Nodes(NodesVisible), HiddenPeers: n.Nodes(NodesHidden),
	}
}

func (n *Node) addBuiltins() {
	kinds := map[string]KindFactory{
		KindEcho:    func() Behavior { return echo{} },
		KindPrinter: func() Behavior { return printer{} },
	}
	for name, f := range kinds {
		if _, ok := n.kinds[name]; !ok {
			n.kinds[name] = f
		}
	}
	rpcs := map[string]RPCFunc{
		RPCNodeInfo:   func(context.Context, []byte) ([]byte, error) { return Encode(n, n.Info()) },
		RPCAbs:        n.rpcAbs,
		RPCProcesses:  func(context.Context, []byte) ([]byte, error) { return Encode(n, n.Processes()) },
		RPCRegistered: func(context.Context, []byte) ([]byte, error) { return Encode(n, n.RegisteredAll()) },
		RPCList:       func(context.Context, []byte) ([]byte, error) { return Encode(n, n.RPCInfos()) },
	}
	for name, shape := range map[string][2]string{
		RPCNodeInfo: {"-", "NodeInfo"}, RPCAbs: {"integer", "integer"}, RPCProcesses: {"-", "[pid]"},
		RPCRegistered: {"-", "[string]"}, RPCList: {"-", "[{name, args, result}]"},
	} {
		n.DescribeRPC(name, shape[0], shape[1])
	}
	for name, f := range rpcs {
		if _, ok := n.rpcs[name]; !ok {
			n.rpcs[name] = f
		}
	}
	n.services[RPCService] = rex{n}
}

func (n *Node) rpcAbs(_ context.Context, args []byte) ([]byte, error) {
	x, err := Decode[int64](n, args)
	if err != nil {
		return nil, err
	}
	if x < 0 {
		if -x < 0 {
			return nil, fmt.Errorf("%w: abs(%d) overflows", ErrBadArg, x)
		}
		x = -x
	}
	return Encode(n, x)
}

// echo is KindEcho.
type echo struct{ Base }

func (echo) HandleMessage(p *Proc, m Msg) {
	if msg, ok := m.(Message); ok && !msg.From.IsZero() {
		_ = p.Send(msg.From, msg.Payload)
	}
}

func (echo) HandleCall(_ *Proc, _ PID, req []byte) ([]byte, error) { return req, nil }

// printer is KindPrinter.
type printer struct{ Base }

func (printer) Init(p *Proc, args []byte) error {
	text := "Hello from " + p.Node().Self() + "!"
	p.Node().log.Info().Str("pid", p.Self().String()).Msg(text)
	if len(args) > 0 {
		to, err := Decode[PID](p, args)
		if err != nil {
			return err
		}
		if err := SendT(p, to, text); err != nil {
			return err
		}
	}
	p.Exit(Reason{Kind: Normal})
	return nil
}
