package placement

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/placerhq/placer/node"
)

// Ring draws the agent's ring (Cluster.RingInfo there).
func (cl *Client) Ring(ctx context.Context) (RingInfo, error) {
	return invoke[RingInfo](ctx, cl, RPCRing, adminReq{}, true)
}

// WhatIf computes what ch would move in the agent's ring (Cluster.WhatIf
// there); it changes nothing.
func (cl *Client) WhatIf(ctx context.Context, ch WhatIfChange) (WhatIf, error) {
	return invoke[WhatIf](ctx, cl, RPCWhatIf, adminReq{Fn: ch.Op, Name: ch.Member, Weight: ch.Weight}, true)
}

// LookupState is Lookup with the key's processes on its owner.
func (cl *Client) LookupState(ctx context.Context, key string, n int) (Lookup, error) {
	if err := checkKey("key", key); err != nil {
		return Lookup{}, err
	}
	return invoke[Lookup](ctx, cl, RPCLookup, adminReq{Key: key, N: n, State: true}, true)
}

// NodeSend sends msg to the process or service registered as name on the
// cluster node target, through the agent; an error if no such name is
// registered there (a plain send to it would be dropped silently).
func (cl *Client) NodeSend(ctx context.Context, target, name string, msg []byte) error {
	_, err := invoke[struct{}](ctx, cl, RPCNodeSend, adminReq{Node: target, Name: name, Payload: msg}, false)
	return err
}

// Abcast sends msg to {name, member} on every alive member
// (GenServer.abcast) and returns the members it was handed to.
func (cl *Client) Abcast(ctx context.Context, name string, msg []byte) ([]string, error) {
	return invoke[[]string](ctx, cl, RPCAbcast, adminReq{Name: name, Payload: msg}, false)
}

// MultiCall calls {name, member} on every alive member
// (GenServer.multi_call): one result per member.
func (cl *Client) MultiCall(ctx context.Context, name string, req []byte) ([]NodeResult, error) {
	return invoke[[]NodeResult](ctx, cl, RPCMultiCall, adminReq{Name: name, Payload: req}, false)
}

// RPCAll runs rpc fn with args on every alive member (:rpc.multicall).
func (cl *Client) RPCAll(ctx context.Context, fn string, args []byte) ([]NodeResult, error) {
	return invoke[[]NodeResult](ctx, cl, RPCAll, adminReq{Fn: fn, Payload: args}, false)
}

// Spawn starts a process of a registered kind on the cluster node target
// (Node.spawn/4), through the agent, and returns its PID.
func (cl *Client) Spawn(ctx context.Context, target, kind string, args []byte) (node.PID, error) {
	return invoke[node.PID](ctx, cl, RPCSpawn, adminReq{Node: target, Kind: kind, Payload: args}, false)
}

// RPCList lists the rpc functions of the cluster node target with their
// shapes (the rpc.list rpc).
func (cl *Client) RPCList(ctx context.Context, target string) ([]node.RPCInfo, error) {
	out, err := cl.RPC(ctx, target, node.RPCList, nil)
	if err != nil {
		return nil, err
	}
	return node.Decode[[]node.RPCInfo](cl.node, out)
}

// ForceLeave forces the failed member name out on every alive member
// (each logs it, naming the client): one result per member.
func (cl *Client) ForceLeave(ctx context.Context, name string) ([]NodeResult, error) {
	return invoke[[]NodeResult](ctx, cl, RPCForceLeave, adminReq{Name: name, By: cl.cfg.Name, All: true}, false)
}

// Quorum reports every alive member's quorum state.
func (cl *Client) Quorum(ctx context.Context) ([]QuorumInfo, error) {
	return invoke[[]QuorumInfo](ctx, cl, RPCQuorum, adminReq{All: true}, true)
}

// ResetQuorum resets the quorum's last full membership to the members
// alive now, on every alive member (each logs it), and reports the
// result.
func (cl *Client) ResetQuorum(ctx context.Context) ([]QuorumInfo, error) {
	return invoke[[]QuorumInfo](ctx, cl, RPCQuorumReset, adminReq{By: cl.cfg.Name, All: true}, false)
}

// MonitorProcess monitors pid (a process on any cluster node) and returns
// its DOWN reason once it exits; "noproc" if it is not alive,
// "noconnection" if its node goes away. The client connects to pid's node
// directly (its address comes from the agent's member list); ctx bounds
// the wait.
func (cl *Client) MonitorProcess(ctx context.Context, pid node.PID) (node.Reason, error) {
	ms, err := cl.Members(ctx)
	if err != nil {
		return node.Reason{}, err
	}
	for _, m := range ms.Members {
		if m.TransportAddr != "" {
			cl.node.SetAddr(m.Name, m.TransportAddr)
		}
	}
	if err := cl.node.ConnectErr(ctx, pid.Node); err != nil {
		return node.Reason{}, fmt.Errorf("%w: %s: %w", node.ErrNoConnection, pid.Node, err)
	}
	inbox, err := cl.node.NewInbox()
	if err != nil {
		return node.Reason{}, err
	}
	defer inbox.Close()
	ref := inbox.Monitor(pid)
	for {
		m, err := inbox.Receive(ctx)
		if err != nil {
			return node.Reason{}, err
		}
		if d, ok := m.(node.Down); ok && d.Ref == ref {
			return d.Reason, nil
		}
	}
}

// unwrapAdmin turns the result of an admin rpc (adminRPCs) called through
// RPC into its result or error: its reply is an adminReply, whose error
// would otherwise come back as a successful {"err": ...}.
func unwrapAdmin(n *node.Node, agent, fn string, out []byte) ([]byte, error) {
	if !adminRPCs[fn] {
		return out, nil
	}
	r, err := node.Decode[adminReply[json.RawMessage]](n, out)
	if err != nil {
		return out, nil // not an admin reply (a user rpc of that name)
	}
	if r.Err != nil {
		return nil, fromWire(agent, r.Err)
	}
	return r.Result, nil
}
