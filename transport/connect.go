package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// acceptLoop accepts inbound connections until the listener closes.
func (e *Endpoint) acceptLoop() {
	backoff := 5 * time.Millisecond
	for {
		nc, err := e.ln.Accept()
		if err != nil {
			if e.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			e.log.warn("accept", "accept failed; retrying", err, "")
			select {
			case <-time.After(backoff):
			case <-e.done:
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !e.admitInbound(nc) {
			e.log.warn("busy", "too many pending handshakes; closing connection", nil, nc.RemoteAddr().String())
			_ = nc.Close()
		}
	}
}

// admitInbound counts nc as a pending handshake and starts serving it,
// unless the cap is reached or the endpoint is closing.
func (e *Endpoint) admitInbound(nc net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.inbound >= e.cfg.MaxPendingHandshakes {
		return false
	}
	if !e.goLocked(func() { e.serveInbound(nc) }) {
		return false
	}
	e.inbound++
	e.pending[nc] = struct{}{}
	return true
}

// serveInbound runs the acceptor handshake on nc and then, if it
// registered, becomes the connection's reader goroutine.
func (e *Endpoint) serveInbound(nc net.Conn) {
	c, err := e.acceptOn(nc)
	e.mu.Lock()
	e.inbound--
	delete(e.pending, nc)
	e.mu.Unlock()
	if err != nil {
		e.dropHandshake(c, nc, err, "inbound")
		return
	}
	c.run()
}

func (e *Endpoint) acceptOn(nc net.Conn) (*conn, error) {
	if err := nc.SetDeadline(time.Now().Add(e.cfg.HandshakeTimeout)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConnClosed, err)
	}
	c, err := e.newConn(nc, false, "")
	if err != nil {
		return nil, err
	}
	_, err = acceptHandshake(c.br, c.rw, &e.hsc, acceptDecisions{
		decide: func(p hsPeer) (uint8, error) {
			return lockedDo(e, func() (uint8, error) { return e.decideLocked(c, p) })
		},
		replace: func(p hsPeer) error {
			_, err := lockedDo(e, func() (bool, error) { return true, e.registerLocked(c, p) })
			return err
		},
	})
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	return c, e.tlsError(err)
}

// lockedDo runs f with e.mu held.
func lockedDo[T any](e *Endpoint, f func() (T, error)) (T, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return f()
}

// dropHandshake disposes of a connection whose handshake did not produce a
// usable connection, logging why.
func (e *Endpoint) dropHandshake(c *conn, nc net.Conn, err error, dir string) {
	registered := false
	if c != nil {
		registered = func() bool { e.mu.Lock(); defer e.mu.Unlock(); return c.registered }()
	}
	if registered {
		c.abandon(fmt.Errorf("%w: handshake failed after registration: %v", ErrConnClosed, err))
	} else {
		_ = nc.Close()
	}
	addr := nc.RemoteAddr().String()
	switch {
	case errors.Is(err, errLostRace), errors.Is(err, errAborted):
		e.log.debug(dir+" connection superseded", addr, err)
	case e.isClosed():
	case errors.Is(err, ErrAuth):
		e.log.warn("auth-"+dir, dir+" handshake rejected: authentication failed", err, addr)
	default:
		e.log.warn("hs-"+dir, dir+" handshake failed", err, addr)
	}
}

// dial connects to node and runs the dialer handshake. It returns the
// registered connection, or nil and nil when another connection serves.
func (e *Endpoint) dial(node string) (*conn, error) {
	addr, err := e.resolve(node)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoConnection, err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.HandshakeTimeout)
	defer cancel()
	nd := net.Dialer{Timeout: e.cfg.DialTimeout}
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: dialling %s at %s: %w", ErrNoConnection, node, addr, err)
	}
	if !e.trackPending(nc) {
		_ = nc.Close()
		return nil, fmt.Errorf("%w: endpoint closed", ErrShutdown)
	}
	c, err := e.dialOn(ctx, nc, node, addr)
	e.untrackPending(nc)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, errLostRace):
		e.dropHandshake(c, nc, err, "outbound")
		return nil, e.awaitWinner(node)
	case errors.Is(err, errAborted):
		e.dropHandshake(c, nc, err, "outbound")
		return nil, nil
	}
	e.dropHandshake(c, nc, err, "outbound")
	if errors.Is(err, ErrShutdown) {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %s at %s: %w", ErrNoConnection, node, addr, err)
}

func (e *Endpoint) dialOn(ctx context.Context, nc net.Conn, node, addr string) (*conn, error) {
	deadline, _ := ctx.Deadline()
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConnClosed, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	c, err := e.newConn(nc, true, host)
	if err != nil {
		return nil, err
	}
	_, err = dialHandshake(c.br, c.rw, &e.hsc, node, dialDecisions{
		commit: func(p hsPeer) error {
			_, err := lockedDo(e, func() (bool, error) { return true, e.registerLocked(c, p) })
			return err
		},
		alive: func(p hsPeer) (bool, error) { return lockedDo(e, func() (bool, error) { return e.aliveLocked(c, p) }) },
	})
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	return c, e.tlsError(err)
}

// newConn wraps nc in TLS if configured (as the client when we dialled,
// verifying serverName) and sets up the read buffer.
func (e *Endpoint) newConn(nc net.Conn, client bool, serverName string) (*conn, error) {
	rw := nc
	if e.tls != nil {
		tc, err := e.tlsHandshake(nc, client, serverName)
		if err != nil {
			return nil, err
		}
		rw = tc
	}
	c := &conn{
		ep: e, nc: nc, rw: rw,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		downDone: make(chan struct{}),
	}
	if rw == nc {
		c.inl = newInlineWriter(nc)
	}
	c.dr = &deadlineReader{c: rw}
	c.br = bufio.NewReaderSize(c.dr, readBufSize)
	return c, nil
}

func (e *Endpoint) tlsHandshake(nc net.Conn, client bool, serverName string) (*tls.Conn, error) {
	var tc *tls.Conn
	if client {
		cfg := e.tls
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = serverName
		}
		tc = tls.Client(nc, cfg)
	} else {
		tc = tls.Server(nc, e.tls)
	}
	if err := tc.HandshakeContext(e.ctx); err != nil {
		return nil, e.tlsError(fmt.Errorf("TLS handshake: %w", err))
	}
	return tc, nil
}

// tlsError classifies TLS failures: certificate problems and TLS alerts
// from the peer are authentication failures, a non-TLS peer is a protocol
// error. Other errors pass through.
func (e *Endpoint) tlsError(err error) error {
	if err == nil || e.tls == nil || errors.Is(err, ErrAuth) {
		return err
	}
	var cve *tls.CertificateVerificationError
	var oe *net.OpError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &cve), errors.As(err, &oe) && oe.Op == "remote error":
		return fmt.Errorf("%w: %w", ErrAuth, err)
	case errors.As(err, &rhe):
		return fmt.Errorf("%w: peer does not speak TLS: %w", ErrProtocol, err)
	}
	return err
}

func (e *Endpoint) resolve(node string) (string, error) {
	e.mu.Lock()
	addr := e.addrs[node]
	e.mu.Unlock()
	if addr != "" {
		return addr, nil
	}
	if e.cfg.Resolve != nil {
		a, err := e.cfg.Resolve(node)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrUnknownNode, node, err)
		}
		if a != "" {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrUnknownNode, node)
}

func (e *Endpoint) trackPending(nc net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.pending[nc] = struct{}{}
	return true
}

func (e *Endpoint) untrackPending(nc net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pending, nc)
}

func (e *Endpoint) isClosed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}
