package node

import (
	"time"

	"github.com/placerhq/placer/transport"
)

// wireHandler receives the transport's frames and peer events. It runs on
// the transport's reader goroutines and never blocks on a mailbox: frames
// go into bounded mailboxes (or are dropped and counted), services run
// inline, anything slow gets its own goroutine.
type wireHandler struct{ n *Node }

var _ transport.Handler = wireHandler{}

// PeerUp implements transport.Handler.
func (h wireHandler) PeerUp(p transport.PeerInfo) {
	<-h.n.ready
	h.n.peerUp(p)
}

// PeerDown implements transport.Handler.
func (h wireHandler) PeerDown(p transport.PeerInfo, reason error) {
	<-h.n.ready
	h.n.peerDown(p, reason)
}

// HandleMessage implements transport.Handler.
func (h wireHandler) HandleMessage(peer string, m *transport.Message) {
	n := h.n
	<-n.ready
	switch m.Type {
	case transport.FrameSend:
		n.deliverMsg(fromWire(m.From), fromWire(m.To), m.Payload)
	case transport.FrameRegSend:
		n.deliverNamed(fromWire(m.From), m.ToName, m.Payload)
	case transport.FrameCall:
		n.onCall(m)
	case transport.FrameReply, transport.FrameSpawnReply:
		n.calls.complete(m.Ref, m.Payload, errorOf(m.Status, m.Reason))
	case transport.FrameSpawnRequest:
		n.onSpawnRequest(m)
	case transport.FrameHeartbeat:
	default:
		n.onRelationFrame(peer, m)
	}
}

// onCall serves a remote call: into the target's mailbox, or inline for a
// service; failures are answered at once.
func (n *Node) onCall(m *transport.Message) {
	from := fromWire(m.From)
	var deadline time.Time
	if m.TTL > 0 {
		deadline = time.Now().Add(m.TTL)
	}
	var dest Dest = fromWire(m.To)
	if m.ToName != "" {
		dest = Named{Name: m.ToName}
	}
	if err := n.callLocal(from, m.Ref, dest, m.Payload, deadline); err != nil {
		n.replyBounded(from, m.Ref, err)
	}
}

// replyBounded sends an error reply from a transport callback.
func (n *Node) replyBounded(to PID, ref uint64, err error) {
	if to.Node == n.name {
		n.calls.complete(ref, nil, err)
		return
	}
	st, text := statusOf(err)
	_ = n.sendBounded(to.Node, &transport.Message{
		Type: transport.FrameReply, To: wirePID(to), Ref: ref, Status: st, Reason: text,
	})
}

// onRelationFrame handles the monitor and link frames. A peer may only
// speak for its own processes: From must be on the peer's node.
func (n *Node) onRelationFrame(peer string, m *transport.Message) {
	from, to := fromWire(m.From), fromWire(m.To)
	if m.Type != transport.FrameExit && from.Node != peer {
		n.log.Debug().Str("peer", peer).Uint8("type", uint8(m.Type)).Msg("frame from a foreign pid dropped")
		return
	}
	switch m.Type {
	case transport.FrameMonitor:
		n.onMonitor(peer, from, to, m)
	case transport.FrameDemonitor:
		n.onDemonitor(peer, Ref(m.Ref))
	case transport.FrameDown:
		n.onDown(peer, from, Ref(m.Ref), reasonFromWire(m))
	case transport.FrameLink:
		n.onLink(peer, from, to)
	case transport.FrameUnlink:
		n.onUnlink(peer, from, to)
	case transport.FrameExit:
		n.onExit(peer, from, to, m)
	default:
		n.log.Debug().Str("peer", peer).Uint8("type", uint8(m.Type)).Msg("unknown frame type dropped")
	}
}

func (n *Node) onMonitor(peer string, from, to PID, m *transport.Message) {
	ref := Ref(m.Ref)
	var tp *Proc
	if m.ToName != "" {
		tp = n.whereisProc(m.ToName)
	} else {
		tp, _ = n.lookup(to)
	}
	n.relMu.Lock()
	if tp == nil || tp.exited {
		reason := lateReason(tp)
		n.relMu.Unlock()
		pid := to
		if tp != nil {
			pid = tp.pid
		}
		_ = n.sendBounded(peer, downFrame(pid, from, ref, reason))
		return
	}
	key := monKey{peer, ref}
	addTo(n.rel.watchers, tp.pid.ID, key, from)
	addTo(n.rel.watchersFrom, peer, key, tp.pid.ID)
	n.relMu.Unlock()
}

func (n *Node) onDemonitor(peer string, ref Ref) {
	key := monKey{peer, ref}
	n.relMu.Lock()
	defer n.relMu.Unlock()
	if id, ok := n.rel.watchersFrom[peer][key]; ok {
		delFrom(n.rel.watchersFrom, peer, key)
		delFrom(n.rel.watchers, id, key)
	}
}

func (n *Node) onDown(peer string, from PID, ref Ref, reason Reason) {
	var b batch
	n.relMu.Lock()
	if m := n.rel.mons[ref]; m != nil && m.node == peer {
		n.fireLocked(&b, ref, from, reason)
	}
	n.relMu.Unlock()
	b.flush(n, true)
}

func (n *Node) onLink(peer string, from, to PID) {
	tp, _ := n.lookup(to)
	n.relMu.Lock()
	if tp == nil || tp.exited {
		reason := lateReason(tp)
		n.relMu.Unlock()
		_ = n.sendBounded(peer, exitFrame(to, from, exitLink, reason))
		return
	}
	addTo(n.rel.links, tp.pid.ID, from, struct{}{})
	addTo(n.rel.linksTo, peer, linkKey{tp.pid.ID, from}, struct{}{})
	n.relMu.Unlock()
}

func (n *Node) onUnlink(peer string, from, to PID) {
	if to.Node != n.name || to.Creation != n.creation {
		return
	}
	n.relMu.Lock()
	defer n.relMu.Unlock()
	delFrom(n.rel.links, to.ID, from)
	delFrom(n.rel.linksTo, peer, linkKey{to.ID, from})
}

func (n *Node) onExit(peer string, from, to PID, m *transport.Message) {
	tp, _ := n.lookup(to)
	if tp == nil {
		return
	}
	reason := reasonFromWire(m)
	if m.Ref == exitExplicit {
		n.signal(tp, from, reason, true)
		return
	}
	if from.Node != peer {
		return
	}
	n.breakLink(tp.pid.ID, from, reason)
}
