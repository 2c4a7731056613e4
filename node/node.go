package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/internal/ratelog"
	"github.com/placerhq/placer/transport"
)

// Node is one node of a placer cluster: its processes, names, services,
// monitors and links, and its connections to other nodes. All methods are
// safe for concurrent use.
//
// Locks. Each mutex guards the fields listed at it. They nest only in
// this order (a lock on the left may be held while taking one on its
// right, never the reverse):
//
//	evMu -> relMu              peerUp, peerDown: the peer table, then the relations
//	evMu -> mailbox.mu         peerUp, peerDown: node events queued to processes
//	evMu -> events.mu, eventSub  peerUp, peerDown: publishing (taken one at a time)
//	regMu -> relMu             register: a process that has exited gets no name
//	lifeMu -> goset            addProc, Shutdown: start or stop tracked goroutines
//	mailbox.mu -> mailbox.fwdMu      startForward: the handoff backlog goes first
//	mailbox.fwdMu -> another mailbox's mu and fwdMu, the transport's locks
//	                           forwarding to the new PID (newer, so no cycle)
//
// Every other lock is a leaf: relMu, cookieMu, tombMu, calls.mu, Proc.repMu
// and the spawn and freeze handshakes' mutexes are held without taking any
// other (relMu's holders collect what to deliver in a batch and flush it
// after unlocking). No lock is held while user code runs (behaviours,
// services, rpc functions, cookie callbacks) or while sending on a channel
// that can block; a subscriber channel is offered to without blocking. The
// transport calls the node's handler with none of its own locks held that
// the node could wait for.
type Node struct {
	cfg      Config
	log      zerolog.Logger
	warns    *ratelog.Logger // repeated warnings (panics), rate-limited per kind or service; closed by Shutdown
	name     string
	creation uint32
	tr       transport.Transport
	trc      transport.CreationSender // tr's sends, reporting the incarnation a frame went to (0 if tr cannot)
	started  time.Time
	ready    chan struct{} // closed once tr is set (or New failed)

	ctx    context.Context // ends at shutdown: rpc contexts, user sends
	cancel context.CancelFunc

	lifeMu  sync.Mutex // guards closing; held while starting on procGo and bg
	closing bool
	closed  chan struct{} // closed when Shutdown finished
	procGo  goset.Set     // the processes' goroutines
	bg      goset.Set     // rpc goroutines and the janitor

	nextID  atomic.Uint64
	nextRef atomic.Uint64
	procs   sync.Map // id -> *Proc: live processes, inboxes, handoff tombstones
	nproc   atomic.Int64

	regMu    sync.RWMutex // guards the four maps below and Proc.name
	names    map[string]*Proc
	services map[string]Service
	kinds    map[string]KindFactory
	rpcs     map[string]RPCFunc
	rpcDocs  map[string][2]string // DescribeRPC: args and result shapes; guarded by regMu

	relMu sync.Mutex // guards rel, peers, peersChanged and Proc.exited
	// evMu orders node events: a peer's up or down is delivered to node
	// monitors and event subscribers before the next peer's, so a NodeUp for
	// a node whose Connect has returned comes before any later one's.
	// Taken before relMu, only by peerUp and peerDown.
	evMu  sync.Mutex
	rel   relations
	peers map[string]transport.PeerInfo
	// peersChanged is closed and replaced whenever peers changes.
	peersChanged chan struct{}

	calls  callTable
	events eventHub

	cookieMu sync.RWMutex
	cookies  map[string][]byte

	tombMu sync.Mutex
	tombs  []tomb

	rpcSem chan struct{}
	stats  counters
}

// counters are the node-wide statistics (see Stats).
type counters struct {
	staleDrops   atomic.Uint64
	noProcDrops  atomic.Uint64
	mailboxDrops atomic.Uint64
	forwarded    atomic.Uint64
}

// New starts a node: it validates and copies cfg, registers the built-in
// kinds, rpc functions and services, and creates the transport.
func New(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = copyConfig(cfg)
	n := &Node{
		cfg: cfg, name: cfg.Name, creation: cfg.Creation, started: time.Now(),
		log:   cfg.Logger.With().Str("component", "node").Str("node", cfg.Name).Logger(),
		ready: make(chan struct{}), closed: make(chan struct{}),
		names: map[string]*Proc{}, services: map[string]Service{},
		kinds: cfg.Kinds, rpcs: cfg.RPCs, rel: newRelations(),
		peers: map[string]transport.PeerInfo{}, peersChanged: make(chan struct{}),
		calls: newCallTable(), cookies: map[string][]byte{},
		rpcSem: make(chan struct{}, cfg.MaxConcurrentRPC),
	}
	n.warns = ratelog.New(n.log, time.Second)
	n.events.init(cfg.NodeEventBuffer)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.addBuiltins()
	tr, err := cfg.Transport(TransportParams{
		Name: cfg.Name, Creation: cfg.Creation, Hidden: cfg.Hidden, CookieFor: n.cookieFor,
	}, wireHandler{n})
	if err == nil && tr.Name() != cfg.Name {
		_ = tr.Close()
		err = fmt.Errorf("%w: transport is named %q, node %q", ErrBadConfig, tr.Name(), cfg.Name)
	}
	if err != nil {
		n.cancel()
		n.warns.Close()
		close(n.ready)
		return nil, fmt.Errorf("node: transport: %w", err)
	}
	n.tr = tr
	n.trc = transport.CreationSenderOf(tr)
	close(n.ready)
	n.bg.Go(n.janitor)
	n.log.Debug().Uint32("creation", n.creation).Bool("hidden", cfg.Hidden).Msg("node started")
	return n, nil
}

// Self returns this node's name, like Erlang's node().
func (n *Node) Self() string { return n.name }

// Creation returns this node's incarnation number.
func (n *Node) Creation() uint32 { return n.creation }

// Hidden reports whether this is a hidden node.
func (n *Node) Hidden() bool { return n.cfg.Hidden }

// Addr returns the transport's dialable address ("" if none).
func (n *Node) Addr() string { return n.tr.Addr() }

// Codec returns the node's codec.
func (n *Node) Codec() Codec { return n.cfg.Codec }

// Uptime is the time since New.
func (n *Node) Uptime() time.Duration { return time.Since(n.started) }

// callerPID is the identity of calls made from outside any process: the
// node itself (ID 0). Messages sent to it are dropped.
func (n *Node) callerPID() PID { return PID{Node: n.name, Creation: n.creation} }

// newRef returns a fresh reference (call id, monitor ref, spawn id).
func (n *Node) newRef() uint64 { return n.nextRef.Add(1) }

// NodeSet selects nodes for Nodes, like the argument of Erlang's
// Node.list/1. Combine with |.
type NodeSet uint8

const (
	// NodesVisible: connected nodes that are not hidden.
	NodesVisible NodeSet = 1 << iota
	// NodesHidden: connected hidden nodes. A connection counts as hidden on
	// both sides if either node is hidden, as in Erlang.
	NodesHidden
	// NodesThis: this node.
	NodesThis
	// NodesConnected: every connected node, visible or hidden.
	NodesConnected = NodesVisible | NodesHidden
)

// Nodes lists the nodes in set, sorted by name (this node first if
// NodesThis is included).
func (n *Node) Nodes(set NodeSet) []string {
	var out []string
	n.relMu.Lock()
	for name, p := range n.peers {
		hidden := p.Hidden || n.cfg.Hidden
		if (hidden && set&NodesHidden != 0) || (!hidden && set&NodesVisible != 0) {
			out = append(out, name)
		}
	}
	n.relMu.Unlock()
	sort.Strings(out)
	if set&NodesThis != 0 {
		out = append([]string{n.name}, out...)
	}
	return out
}

// IsConnected reports whether node is connected (its PeerUp was seen and
// no PeerDown since).
func (n *Node) IsConnected(node string) bool {
	n.relMu.Lock()
	defer n.relMu.Unlock()
	_, ok := n.peers[node]
	return ok
}

// Connect connects to node (Node.connect/1): true once the connection is up
// and listed by Nodes, false if it could not be made (unreachable, wrong
// cookie, ctx ended). Connecting to this node is true. When Connect returns
// true, the NodeUp has been offered to every SubscribeNodeEvents channel
// and queued for every process monitoring nodes.
func (n *Node) Connect(ctx context.Context, node string) bool {
	return n.ConnectErr(ctx, node) == nil
}

// ConnectErr is Connect with the reason for a failure: it wraps
// ErrNoConnection and the transport's error (e.g. transport.ErrAuth for a
// wrong cookie).
func (n *Node) ConnectErr(ctx context.Context, node string) error {
	if node == n.name {
		return nil
	}
	ctx, cancel := n.withDefaultTimeout(ctx)
	defer cancel()
	if err := n.tr.Connect(ctx, node); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoConnection, node, err)
	}
	return n.waitPeer(ctx, node, true)
}

// Disconnect closes the connection to node (disconnect_node/1): true if
// there was one. Monitors of its processes fire with noconnection. When it
// returns true, the NodeDown has been offered to every SubscribeNodeEvents
// channel and queued for every node monitor and subscriber process (unless
// CallTimeout passed first).
func (n *Node) Disconnect(node string) bool {
	if !n.IsConnected(node) {
		return false
	}
	_ = n.tr.Disconnect(node)
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.CallTimeout)
	defer cancel()
	_ = n.waitPeer(ctx, node, false)
	return true
}

// waitPeer waits until node is (up) or is not (!up) in n.peers, and the
// node event of that change has been published.
func (n *Node) waitPeer(ctx context.Context, node string, up bool) error {
	for {
		n.relMu.Lock()
		_, ok := n.peers[node]
		ch := n.peersChanged
		n.relMu.Unlock()
		if ok == up {
			n.eventsPublished()
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNoConnection, node, ctx.Err())
		}
	}
}

// eventsPublished returns once the peerUp or peerDown running now (if
// any) has published its event. peerUp and peerDown hold evMu from before
// they change n.peers until after they publish, so a change seen in
// n.peers is published once evMu is free.
func (n *Node) eventsPublished() {
	n.evMu.Lock()
	//lint:ignore SA2001 an empty critical section is the barrier
	n.evMu.Unlock()
}

// SetCookie sets the cookie to use with one peer (Node.set_cookie/2); nil
// removes the override. It takes effect for the next connection to peer.
func (n *Node) SetCookie(peer string, cookie []byte) {
	n.cookieMu.Lock()
	defer n.cookieMu.Unlock()
	if cookie == nil {
		delete(n.cookies, peer)
		return
	}
	n.cookies[peer] = append([]byte(nil), cookie...)
}

func (n *Node) cookieFor(peer string) []byte {
	n.cookieMu.RLock()
	defer n.cookieMu.RUnlock()
	return n.cookies[peer]
}

// SetAddr records the address at which node can be dialled (passed to the
// transport).
func (n *Node) SetAddr(node, addr string) { n.tr.SetAddr(node, addr) }

// withDefaultTimeout gives ctx the CallTimeout deadline if it has none.
func (n *Node) withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, n.cfg.CallTimeout)
}

// timeoutErr converts a ctx failure into ErrTimeout.
func timeoutErr(ctx context.Context, what string) error {
	return fmt.Errorf("%w: %s: %w", ErrTimeout, what, ctx.Err())
}

// goTracked runs f on a goroutine that Shutdown waits for; false if the node
// is shutting down (f is not run).
func (n *Node) goTracked(f func()) bool { return n.bg.Go(f) }

// Close shuts the node down with Config.ShutdownTimeout (see Shutdown).
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()
	return n.Shutdown(ctx)
}

// Shutdown stops the node cleanly: no new processes or rpcs are accepted,
// every process is terminated with reason Shutdown (running Terminate;
// monitors fire, remote ones through the still-open transport), every inbox
// is closed, rpc contexts are cancelled, the transport is closed and every
// goroutine the node started has ended. If ctx ends first, the transport is
// closed anyway and the error wraps ErrTimeout (a process stuck in a handler
// cannot be stopped). Idempotent; later calls wait for the first.
func (n *Node) Shutdown(ctx context.Context) error {
	n.lifeMu.Lock()
	if n.closing {
		n.lifeMu.Unlock()
		select {
		case <-n.closed:
			return nil
		case <-ctx.Done():
			return timeoutErr(ctx, "shutdown")
		}
	}
	n.closing = true
	n.procGo.Stop()
	n.bg.Stop()
	n.lifeMu.Unlock()
	defer close(n.closed)
	n.stopAll()
	err := waitSet(ctx, &n.procGo, "processes")
	n.cancel()
	err = errors.Join(err, waitSet(ctx, &n.bg, "rpc goroutines"))
	_ = n.tr.Close()
	n.calls.failAll(fmt.Errorf("%w: node shut down", ErrShutdown))
	n.events.closeAll()
	n.warns.Close()
	n.log.Debug().Err(err).Msg("node shut down")
	return err
}

// stopAll asks every process to terminate and closes every inbox.
func (n *Node) stopAll() {
	n.procs.Range(func(_, v any) bool {
		p := v.(*Proc)
		if p.inbox {
			p.closeInbox(Reason{Kind: Shutdown})
		} else {
			p.mb.pushUrgent(envelope{kind: envShutdown})
		}
		return true
	})
}

// waitSet waits for the stopped set s or ctx. A goroutine still running at
// the timeout is one whose user code ignores shutdown.
func waitSet(ctx context.Context, s *goset.Set, what string) error {
	select {
	case <-s.Done():
		return nil
	case <-ctx.Done():
		return timeoutErr(ctx, "waiting for "+what)
	}
}

// janitor removes handoff tombstones once their grace period is over.
func (n *Node) janitor() {
	tick := n.cfg.HandoffGrace / 4
	tick = max(tick, 10*time.Millisecond)
	tick = min(tick, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-t.C:
			n.sweepTombs(now)
		}
	}
}

// Stats are node-wide counters.
type Stats struct {
	Processes    int    // live processes and inboxes
	Registered   int    // registered names (processes and services)
	Peers        int    // connected nodes
	PendingCalls int    // calls, spawns and rpcs awaiting a reply
	MailboxDrops uint64 // messages and calls refused by full mailboxes
	StaleDrops   uint64 // messages to PIDs of an earlier creation of this node
	NoProcDrops  uint64 // messages to unknown PIDs or names
	Forwarded    uint64 // messages and calls forwarded after a handoff
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	n.regMu.RLock()
	reg := len(n.names) + len(n.services)
	n.regMu.RUnlock()
	n.relMu.Lock()
	peers := len(n.peers)
	n.relMu.Unlock()
	return Stats{
		Processes: int(n.nproc.Load()), Registered: reg, Peers: peers,
		PendingCalls: n.calls.len(),
		MailboxDrops: n.stats.mailboxDrops.Load(), StaleDrops: n.stats.staleDrops.Load(),
		NoProcDrops: n.stats.noProcDrops.Load(), Forwarded: n.stats.forwarded.Load(),
	}
}
