package placement

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/placerhq/placer/node"
)

// Admin rpc functions that Start registers on every cluster node, so that
// a hidden node (a Client, the placer CLI) can query and use the cluster
// through any member. Arguments and results are encoded with the node's
// codec; see docs/agent.md for the wire format.
const (
	RPCMembers = "placer.members" // → Members
	RPCView    = "placer.view"    // → ViewInfo
	RPCLookup  = "placer.lookup"  // key, n → Lookup
	RPCSend    = "placer.send"    // kind, key, payload → nothing (Cluster.Send)
	RPCCall    = "placer.call"    // kind, key, payload → reply (Cluster.Call)
	RPCEnsure  = "placer.ensure"  // kind, key → PID (Cluster.EnsureProcess)
	RPCWhereis = "placer.whereis" // kind, key → PID (Cluster.Whereis)
	RPCStats   = "placer.stats"   // → StatsReport
	RPCHosted  = "placer.hosted"  // → []Hosted: the processes (role primary), then the backup copies
	RPCProxy   = "placer.rpc"     // node, fn, args → the result of rpc fn on node
	RPCWatch   = "placer.watch"   // pid → nothing; WatchEvents are then sent to pid
)

// MaxLookupN bounds Lookup's n.
const MaxLookupN = 64

// adminReq is the argument of every admin rpc; each uses some fields.
type adminReq struct {
	Kind    string   `json:"kind,omitempty"`
	Key     string   `json:"key,omitempty"`
	N       int      `json:"n,omitempty"`
	Payload []byte   `json:"payload,omitempty"`
	Node    string   `json:"node,omitempty"`
	Fn      string   `json:"fn,omitempty"`
	PID     node.PID `json:"pid"`
	Name    string   `json:"name,omitempty"`  // a registered name or member (operator rpcs)
	By      string   `json:"by,omitempty"`    // who asks (operator rpcs log it)
	All     bool     `json:"all,omitempty"`   // run on every member (operator rpcs)
	State   bool     `json:"state,omitempty"` // lookup: also the key's processes on its owner
	Weight  int      `json:"weight,omitempty"`
}

// MemberInfo is one placer member as a node sees it (Cluster.Members).
type MemberInfo struct {
	Name          string `json:"name"`
	Status        string `json:"status"`             // alive, leaving, left or failed (Serf's verdict)
	Ring          bool   `json:"ring"`               // a member of the answering node's ring: it owns keys
	Draining      bool   `json:"draining,omitempty"` // alive but handing its keys off (Leave, Drain)
	Weight        int    `json:"weight"`
	TransportAddr string `json:"transport_addr"`
	GossipAddr    string `json:"gossip_addr,omitempty"`
	Connected     bool   `json:"connected"` // the answering node is it, or has a transport connection to it
	// Primaries and Backups: the keys the member hosts (processes, live or
	// passivated) and the backup copies it keeps for replicated kinds, as
	// it last sampled them (within a second); absent unless asked for
	// (Client.MembersWithLoad) and for a member that did not answer.
	Primaries *int `json:"primaries,omitempty"`
	Backups   *int `json:"backups,omitempty"`
}

// Members is the membership as one node sees it: every placer member Serf
// lists (any status), and the hidden nodes connected to it, which are
// never members.
type Members struct {
	Node    string       `json:"node"`    // the node that answered
	Members []MemberInfo `json:"members"` // sorted by name
	Hidden  []string     `json:"hidden"`  // hidden nodes connected to Node (CLI tools, observers), sorted
	// PreviousPeers are the members Node's Serf snapshot listed when it
	// last ran (membership.Config.SnapshotPath; empty without one).
	PreviousPeers []string `json:"previous_peers"`
	// Alone: Node had peers before its restart (PreviousPeers) and sees no
	// other alive member now: it may be a one-node island beside them.
	Alone bool `json:"alone"`
}

// RingMember is a ring member and its weight.
type RingMember struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// ViewInfo describes a node's ownership view and whether the ring members
// agree with it.
type ViewInfo struct {
	Node     string       `json:"node"` // the node that answered
	Epoch    uint64       `json:"epoch"`
	Checksum Checksum     `json:"checksum"`
	Members  []RingMember `json:"members"`
	Draining []string     `json:"draining"`
	Strategy string       `json:"strategy"` // the placement strategy the ring is built with (View.Strategy)
	Excluded []string     `json:"excluded"` // alive members left out for another strategy (View.Excluded)
	Since    time.Time    `json:"since"`
	// Quorum is false only in quorum mode, on a side of the cluster that
	// holds no majority (it then refuses routed requests).
	Quorum bool `json:"quorum"`
	// Checksums are the view checksums the ring members reported when
	// asked (a member that did not answer in time is missing).
	Checksums map[string]Checksum `json:"checksums"`
	// Converged: every ring member reported Checksum.
	Converged bool `json:"converged"`
}

// Lookup is where a key lives in a node's view.
type Lookup struct {
	Node     string   `json:"node"` // the node that answered
	Key      string   `json:"key"`
	Owner    string   `json:"owner"`
	Owners   []string `json:"owners"` // up to n distinct members, owner first (OwnerN)
	Epoch    uint64   `json:"epoch"`
	Checksum Checksum `json:"checksum"`
	// Processes are the key's processes on its owner, any kind (LookupState
	// only; empty when none runs).
	Processes []Hosted `json:"processes,omitempty"`
}

// RuntimeStats are a node runtime's counters (node.Stats) with its peers.
type RuntimeStats struct {
	Processes    int    `json:"processes"`
	Registered   int    `json:"registered"`
	Peers        int    `json:"peers"`        // connected visible nodes
	HiddenPeers  int    `json:"hidden_peers"` // connected hidden nodes
	PendingCalls int    `json:"pending_calls"`
	MailboxDrops uint64 `json:"mailbox_drops"`
	StaleDrops   uint64 `json:"stale_drops"`
	NoProcDrops  uint64 `json:"noproc_drops"`
	Forwarded    uint64 `json:"forwarded"`
}

// GossipStats are the membership's figures (membership.Stats).
type GossipStats struct {
	Addr           string `json:"addr"`
	Members        int    `json:"members"`
	Alive          int    `json:"alive"`
	Leaving        int    `json:"leaving"`
	Left           int    `json:"left"`
	Failed         int    `json:"failed"`
	Heals          uint64 `json:"heals"`
	Joined         bool   `json:"joined"`
	HealthScore    int    `json:"health_score"`
	QuorumFull     int    `json:"quorum_full"`
	QuorumAlive    int    `json:"quorum_alive"`
	QuorumMajority bool   `json:"quorum_majority"`
	Rejected       int    `json:"rejected"`       // members refused now (bad tags or signature)
	RejectedTotal  uint64 `json:"rejected_total"` // refusals since start
}

// TransportStats are the transport's handshake counters (transport.Stats).
type TransportStats struct {
	InboundAccepted       uint64 `json:"inbound_accepted"`
	InboundAuthenticated  uint64 `json:"inbound_authenticated"`
	InboundAuthFailed     uint64 `json:"inbound_auth_failed"`
	InboundTimedOut       uint64 `json:"inbound_timed_out"`
	InboundFailed         uint64 `json:"inbound_failed"`
	InboundEvicted        uint64 `json:"inbound_evicted"`
	InboundRefusedBusy    uint64 `json:"inbound_refused_busy"`
	InboundRefusedPerHost uint64 `json:"inbound_refused_per_host"`
	OutboundAuthFailed    uint64 `json:"outbound_auth_failed"`
	OutboundFailed        uint64 `json:"outbound_failed"`
	PendingInbound        int    `json:"pending_inbound"`
}

// StatsReport is everything a node counts: placement, runtime, gossip.
type StatsReport struct {
	Node       string          `json:"node"`
	Creation   uint32          `json:"creation"`
	UptimeMS   int64           `json:"uptime_ms"`
	Placement  Stats           `json:"placement"`
	Runtime    RuntimeStats    `json:"runtime"`
	Membership *GossipStats    `json:"membership,omitempty"` // nil without Serf
	Transport  *TransportStats `json:"transport,omitempty"`  // nil if the transport does not count
}

// registerAdmin adds the admin rpc functions to the node. A name the user
// already registered (Config.Node.RPCs) keeps the user's function.
func (c *Cluster) registerAdmin() {
	for name, fn := range c.adminFns() {
		if err := c.node.RegisterRPC(name, fn); err != nil {
			c.log.Warn().Err(err).Str("rpc", name).Msg("admin rpc not registered")
		}
	}
}

// adminRPCs are the names of the admin rpc functions (adminFns): their
// results are adminReplies, which Client.RPC unwraps. Other placer.*
// functions (placement/global's, a user's) return their results as they
// are.
var adminRPCs = map[string]bool{
	RPCMembers: true, RPCView: true, RPCLookup: true, RPCRing: true, RPCWhatIf: true, RPCSend: true,
	RPCCall: true, RPCEnsure: true, RPCWhereis: true, RPCStats: true, RPCHosted: true, RPCProxy: true,
	RPCWatch: true, RPCNodeSend: true, RPCAbcast: true, RPCMultiCall: true, RPCAll: true, RPCSpawn: true,
	RPCForceLeave: true, RPCSamples: true, RPCQuorum: true, RPCQuorumReset: true,
}

// adminFns returns the admin rpc functions by name.
func (c *Cluster) adminFns() map[string]node.RPCFunc {
	w := c.watchr
	fns := map[string]node.RPCFunc{
		RPCMembers: adminFn(c, func(ctx context.Context, r adminReq) (Members, error) { return c.membersRPC(ctx, r), nil }),
		RPCView:    adminFn(c, func(ctx context.Context, _ adminReq) (ViewInfo, error) { return c.ViewInfo(ctx), nil }),
		RPCLookup: adminFn(c, func(ctx context.Context, r adminReq) (Lookup, error) {
			if r.State {
				return c.LookupState(ctx, r.Key, r.N)
			}
			return c.Lookup(r.Key, r.N)
		}),
		RPCRing: adminFn(c, func(context.Context, adminReq) (RingInfo, error) { return c.RingInfo() }),
		RPCWhatIf: adminFn(c, func(_ context.Context, r adminReq) (WhatIf, error) {
			return c.WhatIf(WhatIfChange{Op: r.Fn, Member: r.Name, Weight: r.Weight})
		}),
		RPCSend: adminFn(c, func(ctx context.Context, r adminReq) (struct{}, error) {
			return struct{}{}, c.checkedSend(ctx, r)
		}),
		RPCCall: adminFn(c, func(ctx context.Context, r adminReq) ([]byte, error) {
			return c.Call(ctx, r.Kind, r.Key, r.Payload)
		}),
		RPCEnsure:  adminFn(c, func(ctx context.Context, r adminReq) (node.PID, error) { return c.EnsureProcess(ctx, r.Kind, r.Key) }),
		RPCWhereis: adminFn(c, func(ctx context.Context, r adminReq) (node.PID, error) { return c.Whereis(ctx, r.Kind, r.Key) }),
		RPCStats:   adminFn(c, func(context.Context, adminReq) (StatsReport, error) { return c.StatsReport(), nil }),
		RPCHosted:  adminFn(c, func(_ context.Context, r adminReq) ([]Hosted, error) { return c.hostedKey(r.Key), nil }),
		RPCProxy:   adminFn(c, c.proxyRPC),
		RPCWatch:   adminFn(c, func(_ context.Context, r adminReq) (struct{}, error) { return struct{}{}, w.add(r.PID) }),
	}
	c.registerOps(fns)
	return fns
}

// adminFn wraps op as an rpc function: it decodes the request, runs op and
// encodes the result or error as an adminReply.
func adminFn[T any](c *Cluster, op func(context.Context, adminReq) (T, error)) node.RPCFunc {
	return func(ctx context.Context, args []byte) ([]byte, error) {
		var r adminReq
		if len(args) > 0 {
			var err error
			if r, err = node.Decode[adminReq](c.node, args); err != nil {
				var zero T
				return encodeAdmin(c.node, zero, fmt.Errorf("%w: %w", ErrBadRequest, err))
			}
		}
		v, err := op(ctx, r)
		return encodeAdmin(c.node, v, err)
	}
}

// proxyRPC runs rpc r.Fn on r.Node (this node if empty) for a hidden
// node that cannot or need not reach r.Node itself.
func (c *Cluster) proxyRPC(ctx context.Context, r adminReq) ([]byte, error) {
	target := r.Node
	if target == "" {
		target = c.self
	}
	if r.Fn == "" {
		return nil, fmt.Errorf("%w: rpc without a function name", ErrBadRequest)
	}
	return c.node.RPC(ctx, target, r.Fn, r.Payload)
}

// Members reports every placer member the membership lists (any status)
// with its ring status as this node sees it, and the hidden nodes
// connected to this node. Without Serf (internal tests) the ring members
// are listed as alive.
func (c *Cluster) Members() Members {
	s := c.snap.Load()
	out := Members{Node: c.self, Hidden: append([]string{}, c.node.Nodes(node.NodesHidden)...), Members: []MemberInfo{}}
	if c.mem == nil {
		for _, m := range s.view.Members {
			out.Members = append(out.Members, MemberInfo{Name: m.Name, Status: "alive", Ring: true, Weight: m.Weight})
		}
	} else {
		for _, m := range c.mem.Members() {
			out.Members = append(out.Members, MemberInfo{
				Name: m.Name, Status: m.Status.String(), Weight: m.Weight,
				Ring: s.view.Has(m.Name), Draining: slices.Contains(s.view.Draining, m.Name),
				TransportAddr: m.TransportAddr, GossipAddr: m.GossipAddr,
			})
		}
	}
	out.PreviousPeers, out.Alone = c.alone()
	for i := range out.Members {
		m := &out.Members[i]
		m.Connected = m.Name == c.self || c.node.IsConnected(m.Name)
		if m.Name == c.self && m.TransportAddr == "" {
			m.TransportAddr = c.node.Addr()
		}
	}
	return out
}

// membersRPC answers RPCMembers: Members, and with r.All each alive
// member's primaries and backups (from its last sample).
func (c *Cluster) membersRPC(ctx context.Context, r adminReq) Members {
	ms := c.Members()
	if !r.All {
		return ms
	}
	last := map[string]Sample{}
	for _, ns := range c.AllSamples(ctx) {
		if len(ns.Samples) > 0 {
			last[ns.Node] = ns.Samples[len(ns.Samples)-1]
		}
	}
	for i := range ms.Members {
		if s, ok := last[ms.Members[i].Name]; ok {
			ms.Members[i].Primaries, ms.Members[i].Backups = &s.Hosted, &s.Backups
		}
	}
	return ms
}

// ViewInfo describes this node's view and asks every ring member (in
// parallel, bounded by ctx, at most viewPollTimeout) for its view
// checksum, to tell whether the cluster has converged.
func (c *Cluster) ViewInfo(ctx context.Context) ViewInfo {
	s := c.snap.Load()
	v := s.view
	info := ViewInfo{
		Node: c.self, Epoch: v.Epoch, Checksum: Checksum(v.Checksum), Since: v.Since,
		Draining: append([]string{}, v.Draining...), Quorum: s.quorum,
		Strategy: v.Strategy, Excluded: append([]string{}, v.Excluded...),
		Members: make([]RingMember, len(v.Members)), Checksums: map[string]Checksum{},
	}
	names := make([]string, len(v.Members))
	for i, m := range v.Members {
		info.Members[i], names[i] = RingMember{Name: m.Name, Weight: m.Weight}, m.Name
	}
	ctx, cancel := context.WithTimeout(ctx, viewPollTimeout)
	defer cancel()
	replies, _ := c.node.MultiCallName(ctx, names, handoffService, (&handoffMsg{op: hoView}).encode())
	for name, out := range replies {
		if len(out) == 9 && out[0] == hsOK {
			info.Checksums[name] = Checksum(binary.BigEndian.Uint64(out[1:]))
		}
	}
	info.Converged = len(info.Checksums) == len(names)
	for _, sum := range info.Checksums {
		info.Converged = info.Converged && uint64(sum) == v.Checksum
	}
	return info
}

// viewPollTimeout bounds ViewInfo's questions to the ring members.
const viewPollTimeout = time.Second

// Lookup returns key's owner and up to n owners (owner first; n < 1 means
// 1, at most MaxLookupN) in this node's current view. Pure: it contacts
// nobody. ErrBadKey for an empty or too long key, ErrNoMembers for an
// empty view.
func (c *Cluster) Lookup(key string, n int) (Lookup, error) {
	if err := checkKey("key", key); err != nil {
		return Lookup{}, err
	}
	n = min(max(n, 1), MaxLookupN)
	v := c.View()
	out := Lookup{Node: c.self, Key: key, Epoch: v.Epoch, Checksum: Checksum(v.Checksum), Owners: v.OwnerN(key, n)}
	if out.Owners == nil {
		out.Owners = []string{}
	}
	if out.Owner = v.Owner(key); out.Owner == "" {
		return out, ErrNoMembers
	}
	return out, nil
}

// StatsReport returns this node's placement, runtime and gossip figures.
func (c *Cluster) StatsReport() StatsReport {
	ns := c.node.Stats()
	r := StatsReport{
		Node: c.self, Creation: c.node.Creation(), UptimeMS: c.node.Uptime().Milliseconds(),
		Placement: c.Stats(),
		Runtime: RuntimeStats{
			Processes: ns.Processes, Registered: ns.Registered, PendingCalls: ns.PendingCalls,
			Peers: len(c.node.Nodes(node.NodesVisible)), HiddenPeers: len(c.node.Nodes(node.NodesHidden)),
			MailboxDrops: ns.MailboxDrops, StaleDrops: ns.StaleDrops, NoProcDrops: ns.NoProcDrops, Forwarded: ns.Forwarded,
		},
	}
	if c.mem != nil {
		ms := c.mem.Stats()
		r.Membership = &GossipStats{
			Addr: ms.GossipAddr, Members: ms.Members, Alive: ms.Alive, Leaving: ms.Leaving, Left: ms.Left,
			Failed: ms.Failed, Heals: ms.Heals, Joined: ms.Joined, HealthScore: ms.HealthScore,
			QuorumFull: ms.QuorumFull, QuorumAlive: ms.QuorumAlive, QuorumMajority: ms.QuorumMajority,
			Rejected: ms.Rejected, RejectedTotal: ms.RejectedTotal,
		}
	}
	if ts, ok := c.node.TransportStats(); ok {
		r.Transport = &TransportStats{
			InboundAccepted: ts.InboundAccepted, InboundAuthenticated: ts.InboundAuthenticated,
			InboundAuthFailed: ts.InboundAuthFailed, InboundTimedOut: ts.InboundTimedOut, InboundFailed: ts.InboundFailed,
			InboundEvicted: ts.InboundEvicted, InboundRefusedBusy: ts.InboundRefusedBusy, InboundRefusedPerHost: ts.InboundRefusedPerHost,
			OutboundAuthFailed: ts.OutboundAuthFailed, OutboundFailed: ts.OutboundFailed, PendingInbound: ts.PendingInbound,
		}
	}
	return r
}

// checkedSend is the placer.send rpc: a kind this node does not register
// (every node registers the same kinds) or a message Config.CheckMessage
// refuses fails here, rather than being dropped by the owner after the
// sender was told it was sent.
func (c *Cluster) checkedSend(ctx context.Context, r adminReq) error {
	if r.Kind != "" && !c.kinds[r.Kind] {
		return fmt.Errorf("%w: %q (kinds here: %s)", ErrUnknownKind, r.Kind, strings.Join(slices.Sorted(maps.Keys(c.kinds)), ", "))
	}
	if f := c.cfg.CheckMessage; f != nil {
		if err := f(r.Kind, r.Payload); err != nil {
			return fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
	}
	return c.Send(ctx, r.Kind, r.Key, r.Payload)
}

// hostedKey is Hosted plus Backups, only key's entries if key is set.
func (c *Cluster) hostedKey(key string) []Hosted {
	all := append(c.Hosted(), c.Backups()...)
	if key == "" {
		return all
	}
	out := []Hosted{}
	for _, h := range all {
		if h.Key == key {
			out = append(out, h)
		}
	}
	return out
}

// LookupState is Lookup plus the key's processes on its owner (asked over
// the placer.hosted rpc; starts nothing).
func (c *Cluster) LookupState(ctx context.Context, key string, n int) (Lookup, error) {
	lk, err := c.Lookup(key, n)
	if err != nil {
		return lk, err
	}
	args, err := node.Encode(c.node, adminReq{Key: key})
	if err != nil {
		return lk, err
	}
	out, err := c.node.RPC(ctx, lk.Owner, RPCHosted, args)
	if err != nil {
		return lk, err
	}
	lk.Processes, err = decodeAdmin[[]Hosted](c.node, lk.Owner, out)
	return lk, err
}

// alone reports the previous peers and whether none of them (nor anyone
// else) is alive beside this node.
func (c *Cluster) alone() ([]string, bool) {
	prev := []string{}
	if c.mem == nil {
		return prev, false
	}
	for _, p := range c.mem.PreviousPeers() {
		prev = append(prev, p.Name)
	}
	return prev, len(prev) > 0 && len(c.mem.Alive()) < 2
}
