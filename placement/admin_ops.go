package placement

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/ring"
)

// Operator rpcs: node-level operations for hidden clients (the placer
// CLI), and the force-leave and quorum commands. Each runs on the agent,
// which reaches the other members itself.
const (
	RPCNodeSend    = "placer.node_send"    // node, name, payload → nothing: a message to {name, node}
	RPCAbcast      = "placer.abcast"       // name, payload → []string: the members it was handed to
	RPCMultiCall   = "placer.multicall"    // name, payload → []NodeResult: a call to {name, member} on every member
	RPCAll         = "placer.rpc_all"      // fn, payload → []NodeResult: rpc fn on every member
	RPCSpawn       = "placer.spawn"        // node, kind, payload → PID: a process of a registered kind on node
	RPCForceLeave  = "placer.force_leave"  // name, by, all → []NodeResult: ForceLeave(name) on every member
	RPCQuorum      = "placer.quorum"       // all → []QuorumInfo
	RPCQuorumReset = "placer.quorum_reset" // by, all → []QuorumInfo after ResetQuorum on every member
)

// NodeResult is one member's answer to an operation run on every member.
type NodeResult struct {
	Node   string `json:"node"`
	Result []byte `json:"result,omitempty"` // the reply or rpc result (JSON with the default codec)
	Error  string `json:"error,omitempty"`
}

// QuorumInfo is one member's quorum state.
type QuorumInfo struct {
	Node     string   `json:"node"`
	Enabled  bool     `json:"enabled"`  // quorum mode is on (Config.Quorum)
	Serving  bool     `json:"serving"`  // the node serves keyed requests (always, with quorum mode off)
	Majority bool     `json:"majority"` // its side holds a strict majority of Full
	Alive    int      `json:"alive"`    // members of Full alive now
	Full     []string `json:"full"`     // the last full membership
	Error    string   `json:"error,omitempty"`
}

// registerOps adds the operator rpcs to fns.
func (c *Cluster) registerOps(fns map[string]node.RPCFunc) {
	fns[RPCNodeSend] = adminFn(c, func(ctx context.Context, r adminReq) (struct{}, error) { return struct{}{}, c.nodeSend(ctx, r) })
	fns[RPCAbcast] = adminFn(c, func(_ context.Context, r adminReq) ([]string, error) {
		nodes := c.memberNames()
		return nodes, c.node.Abcast(nodes, r.Name, r.Payload)
	})
	fns[RPCMultiCall] = adminFn(c, func(ctx context.Context, r adminReq) ([]NodeResult, error) {
		return results(c.node.MultiCallName(ctx, c.memberNames(), r.Name, r.Payload)), nil
	})
	fns[RPCAll] = adminFn(c, func(ctx context.Context, r adminReq) ([]NodeResult, error) {
		return results(c.node.MultiCall(ctx, c.memberNames(), r.Fn, r.Payload)), nil
	})
	fns[RPCSpawn] = adminFn(c, func(ctx context.Context, r adminReq) (node.PID, error) {
		return c.node.SpawnOn(ctx, orSelf(r.Node, c.self), r.Kind, r.Payload, node.SpawnOpts{})
	})
	fns[RPCForceLeave] = adminFn(c, c.forceLeaveRPC)
	fns[RPCSamples] = adminFn(c, c.samplesRPC)
	fns[RPCQuorum] = adminFn(c, func(ctx context.Context, r adminReq) ([]QuorumInfo, error) { return c.quorumRPC(ctx, r, false) })
	fns[RPCQuorumReset] = adminFn(c, func(ctx context.Context, r adminReq) ([]QuorumInfo, error) { return c.quorumRPC(ctx, r, true) })
	for name, shape := range map[string][2]string{
		RPCNodeSend: {"node, name, payload", "-"}, RPCAbcast: {"name, payload", "[node]"},
		RPCMultiCall: {"name, payload", "[NodeResult]"}, RPCAll: {"fn, payload", "[NodeResult]"},
		RPCSpawn: {"node, kind, payload", "pid"}, RPCForceLeave: {"name, by, all", "[NodeResult]"},
		RPCQuorum: {"all", "[QuorumInfo]"}, RPCQuorumReset: {"by, all", "[QuorumInfo]"},
		RPCSamples: {"all", "[NodeSamples]"}, RPCRing: {"-", "RingInfo"}, RPCWhatIf: {"fn (op), name, weight", "WhatIf"},
	} {
		c.node.DescribeRPC(name, shape[0], shape[1])
	}
}

func orSelf(name, self string) string {
	if name == "" {
		return self
	}
	return name
}

// memberNames are the alive placer members (this node included): where
// node-level operations go (Erlang's [node() | nodes()]).
func (c *Cluster) memberNames() []string {
	if c.mem == nil {
		return memberNamesOf(c.View().Ring().Members())
	}
	alive := c.mem.Alive()
	out := make([]string, len(alive))
	for i, m := range alive {
		out[i] = m.Name
	}
	return out
}

// results merges a multicall's replies and errors, sorted by node.
func results(replies map[string][]byte, bad map[string]error) []NodeResult {
	out := make([]NodeResult, 0, len(replies)+len(bad))
	for n, b := range replies {
		out = append(out, NodeResult{Node: n, Result: b})
	}
	for n, err := range bad {
		out = append(out, NodeResult{Node: n, Error: err.Error()})
	}
	slices.SortFunc(out, func(a, b NodeResult) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// nodeSend sends r.Payload to {r.Name, r.Node} once the name is known to
// be registered there: a message to a name that does not exist is
// dropped silently (as in Erlang), so the operator is told instead.
func (c *Cluster) nodeSend(ctx context.Context, r adminReq) error {
	target := orSelf(r.Node, c.self)
	out, err := c.node.RPC(ctx, target, node.RPCRegistered, nil)
	if err != nil {
		return err
	}
	names, err := node.Decode[[]string](c.node, out)
	if err != nil {
		return err
	}
	if !slices.Contains(names, r.Name) {
		return fmt.Errorf("%w: no process or service registered as %q on %s", node.ErrNoProc, r.Name, target)
	}
	return c.node.Send(node.Named{Name: r.Name, Node: target}, r.Payload)
}

// fanOut runs rpc fn with r (All cleared) on every other alive member and
// adds their answers to own.
func fanOut[T any](ctx context.Context, c *Cluster, fn string, r adminReq, own T, wrap func(string, T, error) T) []T {
	r.All = false
	args, err := node.Encode(c.node, r)
	out := []T{own}
	for _, name := range c.memberNames() {
		if name == c.self || err != nil {
			continue
		}
		b, rerr := c.node.RPC(ctx, name, fn, args)
		var v []T
		if rerr == nil {
			v, rerr = decodeAdmin[[]T](c.node, name, b)
		}
		if rerr != nil || len(v) == 0 {
			var zero T
			out = append(out, wrap(name, zero, rerr))
			continue
		}
		out = append(out, v[0])
	}
	return out
}

// forceLeaveRPC forces r.Name out here (and, with r.All, on every member).
func (c *Cluster) forceLeaveRPC(ctx context.Context, r adminReq) ([]NodeResult, error) {
	own := NodeResult{Node: c.self}
	if err := c.ForceLeave(r.Name, r.By); err != nil {
		own.Error = err.Error()
	}
	if !r.All {
		return []NodeResult{own}, nil
	}
	return fanOut(ctx, c, RPCForceLeave, r, own, func(n string, _ NodeResult, err error) NodeResult {
		return NodeResult{Node: n, Error: errText(err)}
	}), nil
}

// quorumRPC reports (after a reset if reset) the quorum state here and,
// with r.All, on every member.
func (c *Cluster) quorumRPC(ctx context.Context, r adminReq, reset bool) ([]QuorumInfo, error) {
	if reset {
		c.ResetQuorum(r.By)
	}
	own := c.QuorumInfo()
	if !r.All {
		return []QuorumInfo{own}, nil
	}
	return fanOut(ctx, c, map[bool]string{false: RPCQuorum, true: RPCQuorumReset}[reset], r, own,
		func(n string, q QuorumInfo, err error) QuorumInfo { return QuorumInfo{Node: n, Error: errText(err)} }), nil
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// ForceLeave marks the failed member name as left on this node's
// membership (Serf gossips it), so that it leaves the quorum's full
// membership and Serf stops reconnecting to it; by (who asked) is logged.
// A member already gone (left, or reaped) is not an error.
func (c *Cluster) ForceLeave(name, by string) error {
	if c.mem == nil {
		return fmt.Errorf("%w: no membership", ErrBadConfig)
	}
	c.log.Warn().Str("member", name).Str("by", by).Msg("operator: force-leave")
	err := c.mem.ForceLeave(name)
	if err != nil && (strings.Contains(err.Error(), "is left") || strings.Contains(err.Error(), "is leaving")) {
		return nil
	}
	return err
}

// ResetQuorum makes the quorum's last full membership the members alive
// now (membership.ResetQuorum), re-applies the view and logs who asked.
func (c *Cluster) ResetQuorum(by string) QuorumInfo {
	if c.mem == nil {
		return c.QuorumInfo()
	}
	q := c.mem.ResetQuorum()
	c.log.Warn().Str("by", by).Strs("full", q.Full).Int("alive", q.Alive).Msg("operator: quorum reset")
	c.applyMembership(membership.View{Members: c.mem.Members(), Alive: c.mem.Alive(), Quorum: q})
	return c.QuorumInfo()
}

// QuorumInfo is this node's quorum state.
func (c *Cluster) QuorumInfo() QuorumInfo {
	q := QuorumInfo{Node: c.self, Enabled: c.cfg.Quorum, Serving: c.snap.Load().quorum, Majority: true, Full: []string{}}
	if c.mem != nil {
		v := c.mem.Quorum()
		q.Majority, q.Alive, q.Full = v.Majority, v.Alive, append(q.Full, v.Full...)
	}
	return q
}

func memberNamesOf(ms []ring.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}
