package transport

import "errors"

// Sentinel errors. Every error the package returns (from Listen, Send,
// Connect, TLSFromFiles, ValidateName) and every PeerDown reason wraps one
// of these with %w; test with errors.Is. Internal markers (a connection
// superseded by a simultaneous connect, a handshake left unanswered) wrap
// ErrConnClosed.
var (
	// ErrNoConnection: the peer could not be reached, refused us, or the
	// connection broke before the frame could be queued.
	ErrNoConnection = errors.New("transport: no connection")
	// ErrQueueFull: the outbound queue to the peer stayed full until the
	// caller's deadline.
	ErrQueueFull = errors.New("transport: outbound queue full")
	// ErrShutdown: the transport is closed or closing.
	ErrShutdown = errors.New("transport: shut down")
	// ErrConnClosed: the connection was closed by either side or by a
	// network error.
	ErrConnClosed = errors.New("transport: connection closed")
	// ErrHeartbeatTimeout: the peer sent nothing for longer than the
	// heartbeat timeout.
	ErrHeartbeatTimeout = errors.New("transport: heartbeat timeout")
	// ErrAuth: the handshake failed authentication (wrong cookie, replayed
	// or reflected challenge, bad TLS certificate), or no challenge nonce
	// could be drawn.
	ErrAuth = errors.New("transport: authentication failed")
	// ErrProtocol: the peer violated the protocol (unknown frame type,
	// oversize or malformed frame, version mismatch).
	ErrProtocol = errors.New("transport: protocol error")
	// ErrVersion: no protocol version is supported by both sides. Wraps
	// into ErrProtocol as well.
	ErrVersion = errors.New("transport: no common protocol version")
	// ErrFrameTooLarge: a frame exceeds the configured maximum size.
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrBadName: a node name is not of the form name@host.
	ErrBadName = errors.New("transport: bad node name")
	// ErrUnknownNode: no address is known for the node.
	ErrUnknownNode = errors.New("transport: unknown node address")
	// ErrBadConfig: Listen was given an invalid Config or no Handler, or
	// TLSFromFiles could not load its files (the error also wraps the
	// file's, e.g. fs.ErrNotExist); the wrapping error names the field or
	// file.
	ErrBadConfig = errors.New("transport: bad config")
	// ErrListen: Listen could not listen on ListenAddr or on any port of
	// PortMin..PortMax (the error joins each attempt's).
	ErrListen = errors.New("transport: cannot listen")
)
