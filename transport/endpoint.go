package transport

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/internal/goset"
)

// Endpoint is the TCP implementation of Transport: a listener (unless
// dial-only) and at most one authenticated connection per peer node.
// All methods are safe for concurrent use.
type Endpoint struct {
	cfg  Config
	log  *logger
	h    Handler
	hsc  hsConfig    // handshake parameters (beforeAuth set from cfg.hooks)
	tls  *tls.Config // hardened copy of cfg.TLS, or nil
	ln   net.Listener
	addr string

	ctx    context.Context // cancelled by Close; bounds dials
	cancel context.CancelFunc
	done   chan struct{} // closed by Close
	gos    goset.Set     // every goroutine the endpoint starts; stopped with closed

	stats counters

	mu         sync.Mutex // guards the fields below
	closed     bool
	peers      map[string]*peer         // state per peer node name
	addrs      map[string]string        // address book (SetAddr)
	pending    map[net.Conn]struct{}    // connections still in their handshake (both directions)
	adm        admission                // inbound connections in their handshake (admit.go)
	known      map[string]struct{}      // known members' IP addresses (knownLocked)
	knownDirty bool                     // addrs or peers changed since known was built
	conns      atomic.Pointer[connsMap] // registered connections; replaced (never mutated) under mu
}

type connsMap = map[string]*conn

// peer is the registry entry for one peer node, guarded by Endpoint.mu.
type peer struct {
	conn    *conn         // the registered connection, or nil
	last    *conn         // the most recently registered connection (may be closed)
	dial    *dialAttempt  // our dial in progress, or nil
	changed chan struct{} // closed and replaced whenever conn or dial changes
}

// dialAttempt is one outbound connection attempt; err is set (under
// Endpoint.mu) when it finishes.
type dialAttempt struct {
	finished bool
	err      error
}

var (
	_ Transport   = (*Endpoint)(nil)
	_ StatsSource = (*Endpoint)(nil)
)

// Listen validates cfg, starts listening (unless cfg.ListenAddr is empty)
// and returns the running Endpoint. h receives messages and peer events.
func Listen(cfg Config, h Handler) (*Endpoint, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: Listen needs a Handler", ErrBadConfig)
	}
	if cfg.PortMin > 0 && cfg.PortMax == 0 {
		cfg.PortMax = cfg.PortMin
	}
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := newEndpoint(cfg, h)
	if cfg.ListenAddr != "" {
		ln, err := e.listen()
		if err != nil {
			e.cancel()
			return nil, err
		}
		e.ln, e.addr = ln, ln.Addr().String()
		e.goTrack(e.acceptLoop)
		e.log.Info().Str("addr", e.addr).Bool("tls", e.tls != nil).Msg("listening")
	}
	return e, nil
}

func newEndpoint(cfg Config, h Handler) *Endpoint {
	cfg.Cookie = slices.Clone(cfg.Cookie)
	e := &Endpoint{
		cfg: cfg, h: h,
		done:    make(chan struct{}),
		peers:   make(map[string]*peer),
		addrs:   make(map[string]string),
		pending: make(map[net.Conn]struct{}),
		adm:     newAdmission(cfg.MaxPendingHandshakes, cfg.MaxPendingPerHost),
	}
	e.log = newLogger(cfg.Logger.With().Str("component", "transport").Str("node", cfg.Name).Logger())
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.hsc = hsConfig{
		name: cfg.Name, hidden: cfg.Hidden, creation: cfg.Creation,
		maxFrame: uint32(cfg.MaxFrameSize), window: uint32(cfg.BulkWindow), vmin: MinVersion, vmax: MaxVersion,
		cookieFor: e.cookieFor, rand: cfg.rand,
	}
	if e.hsc.rand == nil {
		e.hsc.rand = rand.Reader
	}
	if cfg.hooks != nil {
		e.hsc.beforeAuth = cfg.hooks.beforeAuth
	}
	if cfg.TLS != nil {
		e.tls = hardenTLS(cfg.TLS)
	}
	e.conns.Store(&connsMap{})
	return e
}

func (e *Endpoint) cookieFor(peer string) []byte {
	if e.cfg.CookieFor != nil {
		if c := e.cfg.CookieFor(peer); c != nil {
			return c
		}
	}
	return e.cfg.Cookie
}

// listen opens the listener on ListenAddr or the first free port of the range.
func (e *Endpoint) listen() (net.Listener, error) {
	addrs, err := e.cfg.listenAddrs()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err == nil {
			return ln, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: no port to listen on: %w", ErrListen, errors.Join(errs...))
}

// Name returns this node's name.
func (e *Endpoint) Name() string { return e.cfg.Name }

// Addr returns the listener's address ("" for a dial-only endpoint).
func (e *Endpoint) Addr() string { return e.addr }

// SetAddr records the address at which node can be dialled; "" forgets it.
// It does not affect an existing connection.
func (e *Endpoint) SetAddr(node, addr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.knownDirty = true
	if addr == "" {
		delete(e.addrs, node)
		return
	}
	e.addrs[node] = addr
}

// Send queues m for node, connecting first if needed (see Transport.Send).
// Frames from one sender (the same m.From) to one node arrive in the order
// Send was called. Errors: ErrNoConnection (wrapping ErrUnknownNode,
// ErrAuth, ErrVersion... when connecting failed), ErrQueueFull,
// ErrFrameTooLarge, ErrShutdown.
func (e *Endpoint) Send(ctx context.Context, node string, m *Message) error {
	_, err := e.SendCreation(ctx, node, m)
	return err
}

// SendCreation is Send that also reports the creation of the peer whose
// connection took m (see CreationSender).
func (e *Endpoint) SendCreation(ctx context.Context, node string, m *Message) (uint32, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: nil message", ErrProtocol)
	}
	for attempt := 0; ; attempt++ {
		c, err := e.connFor(ctx, node)
		if err != nil {
			return 0, err
		}
		err = c.send(ctx, m)
		if err == nil || !errors.Is(err, errConnGone) || attempt > 0 || c.closedLocally() {
			// A connection that Disconnect closed fails what was being
			// sent on it: connecting again is for a later Send (the node
			// layer disconnects a peer declared failed; a peer that is
			// paused or cut off would hold a new dial until it times out).
			return c.info.Creation, err
		}
		e.forget(c) // closed under us: connect again once
	}
}

// Connect establishes (or confirms) an authenticated connection to node.
// It returns once the connection is registered; PeerUp follows on the
// connection's reader goroutine, unless the connection closes before that
// goroutine delivers it (then neither PeerUp nor PeerDown comes: for the
// handler the connection never existed, as for the loser of a
// simultaneous connect).
func (e *Endpoint) Connect(ctx context.Context, node string) error {
	_, err := e.connFor(ctx, node)
	return err
}

// Disconnect closes the connection to node, if any; if its PeerUp was
// delivered, PeerDown follows with ErrConnClosed. A later Send connects
// again.
func (e *Endpoint) Disconnect(node string) error {
	e.mu.Lock()
	var c *conn
	if pe := e.peers[node]; pe != nil {
		c = pe.conn
	}
	e.mu.Unlock()
	if c != nil {
		c.closeWith(errDisconnected)
		e.forget(c)
	}
	return nil
}

// Peers lists the connected, authenticated peers, sorted by name.
func (e *Endpoint) Peers() []PeerInfo {
	m := *e.conns.Load()
	out := make([]PeerInfo, 0, len(m))
	for _, c := range m {
		out = append(out, c.info)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Close closes the listener and every connection, delivers PeerDown with
// ErrShutdown for each connected peer, and returns once every goroutine the
// endpoint started has ended. Connections close gracefully first (see
// Config.CloseTimeout): frames sent before Close reach a peer that keeps
// reading. New sends and connections are refused from the start.
// Idempotent. It must not be called from a Handler callback, which runs on
// one of those goroutines.
func (e *Endpoint) Close() error {
	reason := fmt.Errorf("%w: endpoint closed", ErrShutdown)
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		e.gos.Stop()
		conns := e.registeredLocked()
		e.mu.Unlock()
		shutdownAll(conns, reason, time.Now().Add(e.cfg.CloseTimeout))
		e.mu.Lock()
		close(e.done)
		e.cancel()
		if e.ln != nil {
			_ = e.ln.Close()
		}
		for _, pe := range e.peers {
			if pe.conn != nil {
				pe.conn.closeWith(reason)
			}
		}
		for nc := range e.pending {
			_ = nc.Close()
		}
	}
	e.mu.Unlock()
	e.gos.Wait()
	e.log.close()
	return nil
}

// registeredLocked lists the peers' connections.
func (e *Endpoint) registeredLocked() []*conn {
	var out []*conn
	for _, pe := range e.peers {
		if pe.conn != nil {
			out = append(out, pe.conn)
		}
	}
	return out
}

// shutdownAll closes conns gracefully, in parallel, by deadline.
func shutdownAll(conns []*conn, reason error, deadline time.Time) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.shutdown(reason, deadline)
		}()
	}
	wg.Wait()
}

// goTrack runs f on a tracked goroutine unless the endpoint is closed. It
// may be called with e.mu held: Close stops the set under e.mu in the step
// that sets closed, so it refuses exactly when closed is set.
func (e *Endpoint) goTrack(f func()) bool { return e.gos.Go(f) }

func hardenTLS(c *tls.Config) *tls.Config {
	t := c.Clone()
	t.MinVersion = tls.VersionTLS13
	if t.MaxVersion != 0 && t.MaxVersion < tls.VersionTLS13 {
		t.MaxVersion = 0
	}
	t.ClientAuth = tls.RequireAndVerifyClientCert
	return t
}
