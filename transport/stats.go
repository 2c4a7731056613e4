package transport

import (
	"errors"
	"net"
	"sync/atomic"
)

// Stats are a transport's handshake counters, for operators (the agent
// exports them on /metrics) and tests. Counters only grow; PendingInbound is
// a gauge. The TCP Endpoint fills every field; the in-memory network
// (transport/memnet) fills those that exist without sockets.
type Stats struct {
	// InboundAccepted counts TCP connections accepted by the listener.
	InboundAccepted uint64
	// InboundAuthenticated counts inbound handshakes in which the peer
	// proved the cookie (including ones that then lost a simultaneous
	// connect or were aborted in favour of an existing connection).
	InboundAuthenticated uint64
	// InboundAuthFailed counts inbound handshakes refused for a wrong
	// proof (wrong cookie, replayed or reflected proof) or, with TLS, a
	// bad client certificate.
	InboundAuthFailed uint64
	// InboundTimedOut counts inbound connections closed because a
	// handshake message did not arrive within HelloTimeout (silent or
	// slow-loris peers) or the whole handshake exceeded HandshakeTimeout.
	InboundTimedOut uint64
	// InboundFailed counts the other failed inbound handshakes: malformed
	// or unknown frames, no common version, a peer that closed.
	InboundFailed uint64
	// InboundEvicted counts pending inbound connections closed to make
	// room for a newer one (MaxPendingHandshakes, MaxPendingPerHost).
	InboundEvicted uint64
	// InboundRefusedBusy counts inbound connections closed at once because
	// MaxPendingHandshakes were pending and none could be displaced.
	InboundRefusedBusy uint64
	// InboundRefusedPerHost counts inbound connections closed at once
	// because MaxPendingPerHost were pending from their address and none
	// could be displaced.
	InboundRefusedPerHost uint64
	// OutboundAuthFailed counts our dials refused for authentication (the
	// peer has another cookie, or failed to prove ours).
	OutboundAuthFailed uint64
	// OutboundFailed counts our dials that failed otherwise after the TCP
	// connect (protocol, version, timeout, closed).
	OutboundFailed uint64
	// PendingInbound is the number of inbound connections in their
	// handshake now.
	PendingInbound int
}

// StatsSource is implemented by transports that count handshakes (the TCP
// Endpoint and memnet's Endpoint).
type StatsSource interface {
	Stats() Stats
}

// counters are the endpoint's Stats counters.
type counters struct {
	accepted, authenticated, authFailed, timedOut, failed    atomic.Uint64
	evicted, refusedBusy, refusedPerHost, outAuth, outFailed atomic.Uint64
}

// Stats returns the endpoint's handshake counters.
func (e *Endpoint) Stats() Stats {
	e.mu.Lock()
	pending := len(e.adm.pending)
	e.mu.Unlock()
	s := &e.stats
	return Stats{
		InboundAccepted: s.accepted.Load(), InboundAuthenticated: s.authenticated.Load(),
		InboundAuthFailed: s.authFailed.Load(), InboundTimedOut: s.timedOut.Load(),
		InboundFailed: s.failed.Load(), InboundEvicted: s.evicted.Load(),
		InboundRefusedBusy: s.refusedBusy.Load(), InboundRefusedPerHost: s.refusedPerHost.Load(),
		OutboundAuthFailed: s.outAuth.Load(), OutboundFailed: s.outFailed.Load(),
		PendingInbound: pending,
	}
}

// countInboundFailure counts a failed inbound handshake by cause and
// returns the log kind for it.
func (e *Endpoint) countInboundFailure(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrAuth):
		e.stats.authFailed.Add(1)
		return "inbound-auth"
	case errors.As(err, &ne) && ne.Timeout():
		e.stats.timedOut.Add(1)
		return "inbound-timeout"
	}
	e.stats.failed.Add(1)
	return "inbound-failed"
}

// countOutboundFailure counts a failed dial handshake.
func (e *Endpoint) countOutboundFailure(err error) {
	if errors.Is(err, ErrAuth) {
		e.stats.outAuth.Add(1)
		return
	}
	e.stats.outFailed.Add(1)
}
