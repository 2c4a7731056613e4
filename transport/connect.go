package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
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
		e.admitInbound(nc)
	}
}

// admitInbound admits nc for a handshake (displacing a waiting pending
// connection if the limits say so) or closes it; see admit.go.
func (e *Endpoint) admitInbound(nc net.Conn) {
	e.stats.accepted.Add(1)
	in := &inbound{nc: nc, host: hostOf(nc.RemoteAddr())}
	e.mu.Lock()
	in.known = e.knownLocked(in.host)
	victim, r := e.adm.admit(in)
	if r == admitted && !e.goTrack(func() { e.serveInbound(in) }) {
		e.adm.remove(in)
		r = refusedBusy // closing down
	}
	if r == admitted {
		e.pending[nc] = struct{}{}
	}
	e.mu.Unlock()
	if victim != nil {
		e.stats.evicted.Add(1)
		_ = victim.nc.Close() // its goroutine sees the close and cleans up
		e.log.warn("inbound-evicted", "pending handshake closed to admit a newer connection (flood?)", nil, victim.nc.RemoteAddr().String())
	}
	if r != admitted {
		e.refuse(nc, r)
	}
}

// refuse closes a connection that admission refused, counting why.
func (e *Endpoint) refuse(nc net.Conn, r refusal) {
	_ = nc.Close()
	if e.isClosed() {
		return
	}
	if r == refusedPerHost {
		e.stats.refusedPerHost.Add(1)
		e.log.warn("inbound-per-host", "too many pending handshakes from this address; connection refused", nil, nc.RemoteAddr().String())
		return
	}
	e.stats.refusedBusy.Add(1)
	e.log.warn("inbound-busy", "too many pending handshakes; connection refused", nil, nc.RemoteAddr().String())
}

// serveInbound runs the acceptor handshake on in and then, if it
// registered, becomes the connection's reader goroutine.
func (e *Endpoint) serveInbound(in *inbound) {
	c, err := e.acceptOn(in)
	e.mu.Lock()
	e.adm.remove(in)
	delete(e.pending, in.nc)
	evicted := in.evicted
	e.mu.Unlock()
	if err == nil || errors.Is(err, errLostRace) || errors.Is(err, errAborted) {
		e.stats.authenticated.Add(1)
	}
	if err != nil {
		if evicted {
			err = fmt.Errorf("%w: displaced by a newer connection: %w", errEvicted, err)
		}
		e.dropHandshake(c, in.nc, err, "inbound")
		return
	}
	c.run()
}

// errEvicted marks the handshake of a connection that admission displaced
// (counted and logged when it was displaced).
var errEvicted = fmt.Errorf("%w: evicted", ErrConnClosed)

func (e *Endpoint) acceptOn(in *inbound) (*conn, error) {
	end := time.Now().Add(e.cfg.HandshakeTimeout)
	step := func(s hsStage, claimed string) error { return e.awaitPeer(in, s, claimed, end) }
	if err := step(stageHello, ""); err != nil {
		return nil, err
	}
	c, err := e.newConn(in.nc, false, "")
	if err != nil {
		return nil, err
	}
	_, err = acceptHandshake(c.br, c.rw, &e.hsc, acceptDecisions{
		step: step,
		decide: func(p hsPeer) (uint8, error) {
			return lockedDo(e, func() (uint8, error) {
				e.adm.remove(in) // authenticated: never displaced
				return e.decideLocked(c, p)
			})
		},
		replace: func(p hsPeer) error {
			_, err := lockedDo(e, func() (bool, error) { return true, e.registerLocked(c, p) })
			return err
		},
	})
	if err == nil {
		err = in.nc.SetDeadline(time.Time{})
		c.growReader()
	}
	return c, e.tlsError(err)
}

// awaitPeer records that in now waits for its peer at stage s (so it may
// be displaced), with the name its Hello claimed ("" before the Hello),
// and gives the peer HelloTimeout, within the handshake's end, to send
// what it owes.
func (e *Endpoint) awaitPeer(in *inbound, s hsStage, claimed string, end time.Time) error {
	e.mu.Lock()
	e.adm.progress(in, s, claimed != "" && e.memberLocked(claimed, in.host))
	e.mu.Unlock()
	deadline := time.Now().Add(e.cfg.HelloTimeout)
	if deadline.After(end) {
		deadline = end
	}
	if err := in.nc.SetDeadline(deadline); err != nil {
		return fmt.Errorf("%w: %v", ErrConnClosed, err)
	}
	return nil
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
	case errors.Is(err, errEvicted), e.isClosed():
	case dir == "outbound":
		e.countOutboundFailure(err)
		e.logHandshakeFailure("outbound-"+outKind(err), dir, err, addr)
	default:
		e.logHandshakeFailure(e.countInboundFailure(err), dir, err, addr)
	}
}

func outKind(err error) string {
	if errors.Is(err, ErrAuth) {
		return "auth"
	}
	return "failed"
}

// logHandshakeFailure logs a failed handshake, rate-limited per kind.
func (e *Endpoint) logHandshakeFailure(kind, dir string, err error, addr string) {
	if errors.Is(err, ErrAuth) {
		e.log.warn(kind, dir+" handshake rejected: authentication failed", err, addr)
		return
	}
	e.log.warn(kind, dir+" handshake failed", err, addr)
}

// dial connects to node and runs the dialer handshake. It returns the
// registered connection, or nil and nil when another connection serves.
// A connection the acceptor closed without a word before answering (it
// was shedding a flood of unauthenticated connections) is tried again,
// up to maxDials times in all with a short backoff, within
// HandshakeTimeout. (A misconfigured pair, a plain dialer to a TLS
// listener, fails the same way: it costs it about 0.4 s more to fail.)
func (e *Endpoint) dial(node string) (*conn, error) {
	addr, err := e.resolve(node)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoConnection, err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.HandshakeTimeout)
	defer cancel()
	backoff := redialMin
	for n := 1; ; n++ {
		c, err := e.dialOnce(ctx, node, addr)
		if !errors.Is(err, errUnanswered) || n == maxDials {
			return c, err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, err
		}
		backoff = min(2*backoff, redialMax)
	}
}

// Redials of a connection closed before it was answered: at most maxDials
// attempts in all, redialMin apart at first, doubling up to redialMax.
const (
	maxDials  = 8
	redialMin = 5 * time.Millisecond
	redialMax = 100 * time.Millisecond
)

// dialOnce is one connection attempt of dial.
func (e *Endpoint) dialOnce(ctx context.Context, node, addr string) (*conn, error) {
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
		c.growReader()
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
	c.br = bufio.NewReaderSize(c.dr, hsBufSize)
	return c, nil
}

// hsBufSize is the read buffer of a connection in its handshake: a
// pending connection from an unauthenticated peer costs 4 KiB, not
// readBufSize.
const hsBufSize = headerSize + preAuthMaxBody

// growReader gives an authenticated connection its full-size read buffer,
// keeping whatever the small one already holds (the peer may send data
// right behind its last handshake message). Called once, before run.
func (c *conn) growReader() {
	var src io.Reader = c.dr
	if n := c.br.Buffered(); n > 0 {
		rest, _ := c.br.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(rest)), c.dr)
	}
	c.br = bufio.NewReaderSize(src, readBufSize)
	c.fr.r = c.br
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
		err = fmt.Errorf("TLS handshake: %w", err)
		if cerr := e.tlsError(err); cerr != err {
			return nil, cerr // ErrAuth or ErrProtocol
		}
		return nil, fmt.Errorf("%w: %w", ErrConnClosed, err)
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
