package node

import (
	"context"
	"fmt"
	"sync"

	"github.com/placerhq/placer/internal/lossy"
	"github.com/placerhq/placer/transport"
)

// NodeEvent is a connection to another node coming up or going down, as
// delivered by SubscribeNodeEvents.
type NodeEvent struct {
	Node   string
	Up     bool
	Hidden bool  // the connection is hidden (either side is a hidden node)
	Reason error // why it went down (wraps a transport sentinel); nil for up
	// Dropped is non-zero when this subscriber fell behind and that many
	// older events were discarded to make room (drop-oldest). The
	// subscriber should then re-read the current state with Nodes.
	Dropped uint64
}

// eventHub fans node events out to channel subscribers without ever
// blocking the node.
type eventHub struct {
	mu     sync.Mutex // guards subs and closed
	subs   map[*eventSub]struct{}
	buf    int
	closed bool
}

// eventSub is one subscription: a channel that drops its oldest event
// when full.
type eventSub = lossy.Chan[NodeEvent]

func nodeEventDropped(ev *NodeEvent) *uint64 { return &ev.Dropped }

func (h *eventHub) init(buf int) {
	h.subs = map[*eventSub]struct{}{}
	h.buf = buf
}

// SubscribeNodeEvents returns a channel of node events (every connection
// up and down, visible and hidden) and a cancel function that ends the
// subscription and closes the channel. The node never blocks on it: the
// channel holds Config.NodeEventBuffer events, and when it is full the
// oldest is discarded and the next delivered event reports the loss in
// Dropped. The channel is closed at shutdown too.
func (n *Node) SubscribeNodeEvents() (<-chan NodeEvent, func()) {
	s := lossy.New(n.events.buf, nodeEventDropped)
	h := &n.events
	h.mu.Lock()
	if h.closed {
		s.Close()
	} else {
		h.subs[s] = struct{}{}
	}
	h.mu.Unlock()
	return s.C(), func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.Close()
	}
}

func (h *eventHub) publish(ev NodeEvent) {
	h.mu.Lock()
	subs := make([]*eventSub, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.Offer(ev)
	}
}

func (h *eventHub) closeAll() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = map[*eventSub]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.Close()
	}
}

// hiddenPeer reports whether the connection to a peer counts as hidden.
func (n *Node) hiddenPeer(p transport.PeerInfo) bool { return p.Hidden || n.cfg.Hidden }

func nodeEnv(up bool, node string, hidden bool, reason error) envelope {
	k := envNodeDown
	if up {
		k = envNodeUp
	}
	return envelope{kind: k, sys: &sysInfo{name: node, hidden: hidden, err: reason}}
}

// peerUp records a connected peer and tells the subscribers.
func (n *Node) peerUp(p transport.PeerInfo) {
	hidden := n.hiddenPeer(p)
	var b batch
	n.evMu.Lock()
	n.relMu.Lock()
	n.peers[p.Name] = p
	n.bumpPeersLocked()
	n.notifySubsLocked(&b, nodeEnv(true, p.Name, hidden, nil), hidden)
	n.relMu.Unlock()
	b.flushNotes(n)
	n.events.publish(NodeEvent{Node: p.Name, Up: true, Hidden: hidden})
	n.evMu.Unlock()
	b.flushRest(n, true)
	n.log.Debug().Str("peer", p.Name).Bool("hidden", hidden).Msg("node up")
}

// peerDown fails everything that depended on the connection to p: pending
// calls (ErrNoConnection), monitors of its processes (Down noconnection),
// links with them (exit signal noconnection), monitors its processes held
// here, node monitors (NodeDown).
func (n *Node) peerDown(p transport.PeerInfo, reason error) {
	hidden := n.hiddenPeer(p)
	down := nodeEnv(false, p.Name, hidden, reason)
	var b batch
	n.evMu.Lock()
	n.relMu.Lock()
	delete(n.peers, p.Name)
	n.bumpPeersLocked()
	n.dropPeerRelationsLocked(&b, p.Name, p.Creation)
	for w, count := range n.rel.nodeMons[p.Name] {
		for range count {
			b.notes = append(b.notes, note{to: w, e: down})
		}
	}
	delete(n.rel.nodeMons, p.Name)
	n.notifySubsLocked(&b, down, hidden)
	n.relMu.Unlock()
	b.flushNotes(n)
	n.events.publish(NodeEvent{Node: p.Name, Hidden: hidden, Reason: reason})
	n.evMu.Unlock()
	n.calls.failNode(p.Name, p.Creation, fmt.Errorf("%w: connection to %s lost: %w", ErrNoConnection, p.Name, reason))
	b.flushRest(n, true)
	n.log.Debug().Str("peer", p.Name).Err(reason).Msg("node down")
}

// dropPeerRelationsLocked undoes the relations with the processes of
// incarnation creation of node. Those aimed at PIDs of another (newer)
// incarnation stay: they went over a newer connection, whose own PeerDown
// will come.
func (n *Node) dropPeerRelationsLocked(b *batch, node string, creation uint32) {
	for ref := range n.rel.monsTo[node] {
		switch m := n.rel.mons[ref]; {
		case m.sending:
			m.lost = append(m.lost, lostConn{creation: creation}) // monitorSent judges
		case sameIncarnation(m.incarnation(m.target.Creation), creation):
			n.fireLocked(b, ref, PID{}, Reason{Kind: NoConnection})
		}
	}
	for key, id := range n.rel.watchersFrom[node] {
		if sameIncarnation(n.rel.watchers[id][key].Creation, creation) {
			delFrom(n.rel.watchersFrom, node, key)
			delFrom(n.rel.watchers, id, key)
		}
	}
	for lk := range n.rel.linksTo[node] {
		if !sameIncarnation(lk.remote.Creation, creation) {
			continue
		}
		delFrom(n.rel.linksTo, node, lk)
		delFrom(n.rel.links, lk.local, lk.remote)
		if v, ok := n.procs.Load(lk.local); ok {
			b.signals = append(b.signals, signal{to: v.(*Proc), from: lk.remote, reason: Reason{Kind: NoConnection}})
		}
	}
}

func (n *Node) notifySubsLocked(b *batch, e envelope, hidden bool) {
	for w, all := range n.rel.nodeSubs {
		if all || !hidden {
			b.notes = append(b.notes, note{to: w, e: e})
		}
	}
}

func (n *Node) bumpPeersLocked() {
	close(n.peersChanged)
	n.peersChanged = make(chan struct{})
}

// monitorNode: one NodeDown to w when node disconnects.
func (n *Node) monitorNode(ctx context.Context, w *Proc, node string) {
	if node == n.name {
		return
	}
	err := n.ConnectErr(ctx, node)
	n.relMu.Lock()
	if w.exited {
		n.relMu.Unlock()
		return
	}
	p, up := n.peers[node]
	if up {
		addTo(n.rel.nodeMons, node, w.pid, n.rel.nodeMons[node][w.pid]+1)
	}
	n.relMu.Unlock()
	if !up {
		if err == nil {
			err = fmt.Errorf("%w: %s", ErrNoConnection, node)
		}
		n.pushSys(w.pid, nodeEnv(false, node, n.hiddenPeer(p), err))
	}
}

func (n *Node) demonitorNode(w *Proc, node string) {
	n.relMu.Lock()
	defer n.relMu.Unlock()
	if c := n.rel.nodeMons[node][w.pid]; c > 1 {
		n.rel.nodeMons[node][w.pid] = c - 1
	} else {
		delFrom(n.rel.nodeMons, node, w.pid)
	}
}

func (n *Node) monitorNodes(w *Proc, on, hidden bool) {
	n.relMu.Lock()
	defer n.relMu.Unlock()
	if !on {
		delete(n.rel.nodeSubs, w.pid)
		return
	}
	if !w.exited {
		n.rel.nodeSubs[w.pid] = hidden
	}
}
