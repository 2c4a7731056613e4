package transport

import (
	"context"
	"fmt"
	"net"
	"time"
)

// This file holds the connection registry: which connection serves which
// peer, who dials, and how simultaneous connects resolve to one connection
// (docs/protocol.md §4, "Connection choice"). Everything here runs under
// Endpoint.mu unless named otherwise.

// connFor returns the registered connection to node, connecting if needed.
func (e *Endpoint) connFor(ctx context.Context, node string) (*conn, error) {
	if c := (*e.conns.Load())[node]; c != nil {
		return c, nil
	}
	return e.connectSlow(ctx, node)
}

// connectSlow waits for a connection to node, starting a dial if none is
// in progress. It fails with the dial's error once the dial it waited for
// ended without a connection.
func (e *Endpoint) connectSlow(ctx context.Context, node string) (*conn, error) {
	if err := ValidateName(node); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoConnection, err)
	}
	if node == e.cfg.Name {
		return nil, fmt.Errorf("%w: %s is this node", ErrNoConnection, node)
	}
	var seen *dialAttempt
	for {
		e.mu.Lock()
		c, ch, err := e.connStepLocked(node, &seen)
		e.mu.Unlock()
		if c != nil || err != nil {
			return c, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: connecting to %s: %w", ErrNoConnection, node, ctx.Err())
		case <-e.done:
			return nil, fmt.Errorf("%w: endpoint closed", ErrShutdown)
		}
	}
}

// connStepLocked is one round of connectSlow: a connection, an error, or a
// channel to wait on.
func (e *Endpoint) connStepLocked(node string, seen **dialAttempt) (*conn, <-chan struct{}, error) {
	if e.closed {
		return nil, nil, fmt.Errorf("%w: endpoint closed", ErrShutdown)
	}
	pe := e.peerLocked(node)
	if pe.conn != nil {
		return pe.conn, nil, nil
	}
	if d := *seen; d != nil && d.finished {
		if d.err != nil {
			return nil, nil, d.err
		}
		return nil, nil, fmt.Errorf("%w: connection to %s lost while connecting", ErrNoConnection, node)
	}
	if pe.dial == nil {
		d := &dialAttempt{}
		if !e.goTrack(func() { e.runDial(node, d) }) {
			return nil, nil, fmt.Errorf("%w: endpoint closed", ErrShutdown)
		}
		pe.dial = d
		pe.notifyLocked()
	}
	*seen = pe.dial
	return nil, pe.changed, nil
}

// runDial is the goroutine of one dial attempt.
func (e *Endpoint) runDial(node string, d *dialAttempt) {
	c, err := e.dial(node)
	e.mu.Lock()
	pe := e.peerLocked(node)
	pe.dial = nil
	d.finished, d.err = true, err
	pe.notifyLocked()
	e.mu.Unlock()
	if c != nil {
		c.run()
		return
	}
	e.tidy(node)
}

// awaitWinner waits, after our dial lost a simultaneous connect, for the
// peer's connection to register.
func (e *Endpoint) awaitWinner(node string) error {
	timer := time.NewTimer(e.cfg.HandshakeTimeout)
	defer timer.Stop()
	for {
		e.mu.Lock()
		pe := e.peerLocked(node)
		c, ch := pe.conn, pe.changed
		e.mu.Unlock()
		if c != nil {
			return nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%w: lost a simultaneous connect to %s and its connection did not arrive within %v", ErrNoConnection, node, e.cfg.HandshakeTimeout)
		case <-e.done:
			return fmt.Errorf("%w: endpoint closed", ErrShutdown)
		}
	}
}

// decideLocked picks the acceptor's AuthAck status for connection c from
// peer p, registering c when the answer is OK.
func (e *Endpoint) decideLocked(c *conn, p hsPeer) (uint8, error) {
	if e.closed {
		return 0, fmt.Errorf("%w: endpoint closed", ErrShutdown)
	}
	pe := e.peers[p.name]
	if pe != nil && pe.dial != nil && e.cfg.Name < p.name {
		return statusNOK, nil // our outbound connection wins
	}
	if pe != nil && pe.conn != nil && !pe.conn.isClosed() && pe.conn.info.Creation == p.creation {
		return statusAlive, nil
	}
	return statusOK, e.registerLocked(c, p)
}

// aliveLocked is the dialer's answer to ALIVE: keep our working connection
// (false) or register c in place of the peer's stale one (true).
func (e *Endpoint) aliveLocked(c *conn, p hsPeer) (bool, error) {
	if pe := e.peers[p.name]; pe != nil && pe.conn != nil && !pe.conn.isClosed() {
		return false, nil
	}
	return true, e.registerLocked(c, p)
}

// registerLocked makes c the connection to peer p, closing any previous one.
func (e *Endpoint) registerLocked(c *conn, p hsPeer) error {
	if e.closed {
		return fmt.Errorf("%w: endpoint closed", ErrShutdown)
	}
	c.setPeer(p)
	pe := e.peerLocked(p.name)
	old := pe.conn
	c.pred, c.registered = pe.last, true
	pe.conn, pe.last = c, c
	if old != nil {
		old.closeWith(fmt.Errorf("%w: replaced by a new connection", ErrConnClosed))
	}
	e.publishLocked()
	pe.notifyLocked()
	return nil
}

// forget unregisters c if it is still the connection to its peer.
func (e *Endpoint) forget(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pe := e.peers[c.info.Name]; pe != nil && pe.conn == c {
		pe.conn = nil
		e.publishLocked()
		pe.notifyLocked()
	}
}

// tidy drops the registry entry of node once nothing refers to it.
func (e *Endpoint) tidy(node string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pe := e.peers[node]
	if pe == nil || pe.conn != nil || pe.dial != nil {
		return
	}
	if pe.last != nil {
		select {
		case <-pe.last.downDone:
		default:
			return // its PeerDown is still to come; a successor must wait for it
		}
	}
	delete(e.peers, node)
	pe.notifyLocked()
}

func (e *Endpoint) peerLocked(node string) *peer {
	pe := e.peers[node]
	if pe == nil {
		pe = &peer{changed: make(chan struct{})}
		e.peers[node] = pe
	}
	return pe
}

func (pe *peer) notifyLocked() {
	close(pe.changed)
	pe.changed = make(chan struct{})
}

// publishLocked rebuilds the lock-free snapshot Send reads.
func (e *Endpoint) publishLocked() {
	e.knownDirty = true
	m := make(connsMap, len(e.peers))
	for name, pe := range e.peers {
		if pe.conn != nil {
			m[name] = pe.conn
		}
	}
	e.conns.Store(&m)
}

// knownLocked reports whether host is a known member's address: the host
// of an address-book entry or of a connected peer. The set is rebuilt
// after either changed (knownDirty).
func (e *Endpoint) knownLocked(host string) bool {
	if e.knownDirty {
		e.known = make(map[string]struct{}, len(e.addrs)+len(e.peers))
		for _, a := range e.addrs {
			if h, _, err := net.SplitHostPort(a); err == nil {
				e.known[h] = struct{}{}
			}
		}
		for _, pe := range e.peers {
			if pe.conn != nil {
				e.known[hostOf(pe.conn.nc.RemoteAddr())] = struct{}{}
			}
		}
		e.knownDirty = false
	}
	_, ok := e.known[host]
	return ok
}

// memberLocked reports whether name is a known member at host: the
// address book maps it to an address on host, or it is connected from
// host.
func (e *Endpoint) memberLocked(name, host string) bool {
	if h, _, err := net.SplitHostPort(e.addrs[name]); err == nil && h == host {
		return true
	}
	pe := e.peers[name]
	return pe != nil && pe.conn != nil && hostOf(pe.conn.nc.RemoteAddr()) == host
}
