// Package transport is placer's binary TCP wire between nodes: framing,
// handshake with cookie authentication, optional mutual TLS, one connection
// per node pair, heartbeats and write batching. It moves typed frames between
// named nodes and reports peers going up and down with a reason. It knows
// nothing about processes: a PID here is only an address triple that the
// node layer fills in and reads back.
//
// The byte layout of every frame is specified in docs/protocol.md.
package transport

import (
	"context"
	"time"
)

// FrameType identifies a frame on the wire.
//
// ONLY APPEND TO THIS LIST. The numeric values are part of the wire protocol:
// never reorder, renumber or reuse one. A later protocol version may add types;
// a peer that negotiated an older version never receives them.
type FrameType uint8

const (
	FrameInvalid      FrameType = 0  // never sent
	FrameHeartbeat    FrameType = 1  // keep-alive tick, no body
	FrameSend         FrameType = 2  // To (PID) <- Payload, From
	FrameRegSend      FrameType = 3  // ToName@node <- Payload, From
	FrameCall         FrameType = 4  // To or ToName, Ref = call id, TTL, Payload
	FrameReply        FrameType = 5  // Ref = call id, Status, Reason, Payload
	FrameMonitor      FrameType = 6  // From monitors To or ToName, Ref = monitor ref
	FrameDemonitor    FrameType = 7  // From, To, Ref
	FrameDown         FrameType = 8  // From (the dead process) -> To (watcher), Ref, Status, Reason, Payload
	FrameLink         FrameType = 9  // From, To
	FrameUnlink       FrameType = 10 // From, To
	FrameExit         FrameType = 11 // From -> To, Status, Reason
	FrameSpawnRequest FrameType = 12 // From (caller), ToName = kind, Ref, TTL, Payload = args
	FrameSpawnReply   FrameType = 13 // To (caller), Ref, Status, Reason, Payload (encodes the new PID or nothing)
	FrameFragment     FrameType = 14 // one piece of a large frame; internal to the TCP transport, never passed to Send or HandleMessage
	FrameBulkAck      FrameType = 15 // flow-control credit for fragments; internal to the TCP transport
)

// PID is the wire form of a process identifier. The transport treats it as an
// opaque address; the node layer defines its meaning. A zero PID (empty Node)
// means "absent".
type PID struct {
	Node     string // "name@host"
	ID       uint64
	Creation uint32
}

// IsZero reports whether p is the absent PID.
func (p PID) IsZero() bool { return p.Node == "" && p.ID == 0 && p.Creation == 0 }

// Message is one decoded frame of any non-handshake type. Which fields a type
// is meant to use is listed at the FrameType constants. The TCP transport
// carries every field for every type (a zero field costs nothing on the
// wire; see docs/protocol.md for the bytes), so whatever the node layer sets
// arrives, and what it leaves zero arrives zero. An empty non-nil Payload
// arrives as nil.
//
// Ownership: a Message passed to Transport.Send must not be modified by the
// caller until Send returns; Send does not retain it (it is encoded or copied).
// A Message passed to Handler.HandleMessage belongs to the handler: the
// transport never reuses it or its Payload.
type Message struct {
	Type    FrameType
	From    PID
	To      PID
	ToName  string        // registered name (RegSend, Call/Monitor by name) or process kind (SpawnRequest)
	Ref     uint64        // correlation id: call id, monitor reference, spawn id
	TTL     time.Duration // Call/SpawnRequest: time the caller will still wait, measured at send (relative, so clock skew does not matter)
	Status  uint8         // Reply/Down/Exit/SpawnReply: a code whose meaning the node layer defines
	Reason  string        // Reply/Down/Exit/SpawnReply: human-readable reason or error text
	Payload []byte        // opaque bytes
}

// PeerInfo describes a connected, authenticated peer.
type PeerInfo struct {
	Name     string // peer node name, "name@host"
	Addr     string // remote network address of the connection
	Hidden   bool   // peer connected with the hidden flag
	Creation uint32 // peer's incarnation, exchanged at handshake
	Version  uint8  // protocol version agreed at handshake
}

// Handler receives what the transport decodes and the peer lifecycle.
//
// HandleMessage is called on the connection's reader goroutine, in the order
// frames arrived; it must not block (hand the message to a bounded queue and
// return), or it stalls that connection. PeerUp is called once a connection
// is authenticated and before any HandleMessage from that peer (a Send to
// the peer may already have succeeded a moment before); PeerDown
// exactly once per PeerUp, after the last HandleMessage of that connection,
// with a reason that wraps one of ErrConnClosed, ErrHeartbeatTimeout,
// ErrAuth, ErrProtocol or ErrShutdown. Callbacks for one peer never run
// concurrently with each other.
type Handler interface {
	HandleMessage(peer string, m *Message)
	PeerUp(p PeerInfo)
	PeerDown(p PeerInfo, reason error)
}

// CreationSender is implemented by a Transport that can tell which
// incarnation of the peer took a frame: SendCreation is Send that also
// returns the Creation of the connection m was queued on (0 if none was
// reached). The node layer binds a call aimed at a name, whose target
// incarnation it cannot know, to that creation, so that the late PeerDown
// of an earlier incarnation does not fail a call that went out on the
// connection to a newer one. Both transports in this module implement it.
// Without it the node layer uses Send and such calls stay bound to no
// incarnation. A wrapper that overrides Send must override SendCreation
// too if it exposes one (by embedding an endpoint), or the node layer
// would go around its Send.
type CreationSender interface {
	SendCreation(ctx context.Context, node string, m *Message) (uint32, error)
}

// CreationSenderOf returns tr as a CreationSender: tr itself if it is
// one, else an adapter whose SendCreation is tr's Send and reports no
// creation (0).
func CreationSenderOf(tr Transport) CreationSender {
	if cs, ok := tr.(CreationSender); ok {
		return cs
	}
	return plainSender{tr}
}

type plainSender struct{ tr Transport }

func (p plainSender) SendCreation(ctx context.Context, node string, m *Message) (uint32, error) {
	return 0, p.tr.Send(ctx, node, m)
}

// Transport is what the node layer needs from a wire. The TCP Endpoint in
// this package implements it, and so does the in-memory network used by
// tests (package transport/memnet), whose links can be cut and restored.
type Transport interface {
	// Name is this node's name, "name@host".
	Name() string
	// Addr is the address peers dial to reach this node ("" if none).
	Addr() string
	// Send queues m for node, connecting first if there is no connection.
	// Frames with the same From PID to one node are delivered in the order
	// Send was called for them. Frames from different senders may be
	// reordered: the TCP transport lets a small frame overtake a large
	// (fragmented) one from another sender, so that a bulk transfer does
	// not hold up calls. It fails with ErrNoConnection if the peer cannot
	// be reached or authenticated (wrapping the cause: ErrUnknownNode,
	// ErrAuth, ErrVersion...), ErrQueueFull if the outbound queue stayed
	// full until ctx ended, ErrFrameTooLarge if m exceeds the peer's frame
	// limit, ErrShutdown after Close.
	Send(ctx context.Context, node string, m *Message) error
	// Connect establishes (or confirms) an authenticated connection to node.
	Connect(ctx context.Context, node string) error
	// Disconnect closes the connection to node, if any; PeerDown follows
	// with ErrConnClosed.
	Disconnect(node string) error
	// Peers lists the currently connected, authenticated peers.
	Peers() []PeerInfo
	// SetAddr records the network address at which node can be dialled
	// (the role epmd plays in Erlang). The in-memory network ignores it.
	SetAddr(node, addr string)
	// Close closes every connection and the listener and waits until every
	// goroutine the transport started has ended. PeerDown is delivered for
	// each peer with ErrShutdown. Idempotent.
	Close() error
}
