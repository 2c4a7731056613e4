package memnet

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/transport"
)

// EndpointConfig configures one endpoint (one node) on a Network. The fields
// mirror transport.Config where they mean the same thing.
type EndpointConfig struct {
	// Name is the node name, "name@host". Required; unique among the open
	// endpoints of the network.
	Name string
	// Cookie is the shared secret checked when a connection is set up.
	// Required (non-empty). Never logged.
	Cookie []byte
	// CookieFor optionally overrides Cookie for one peer (Node.set_cookie/2):
	// a non-nil result is used instead of Cookie for that peer. It is called
	// on every dial, without locks held. Default nil.
	CookieFor func(peer string) []byte
	// Hidden makes the endpoint announce itself as hidden to its peers
	// (PeerInfo.Hidden). Default false.
	Hidden bool
	// Creation is this incarnation's number, reported to peers in PeerInfo.
	Creation uint32
	// DialOnly means nobody can dial this endpoint (the TCP transport's
	// ListenAddr ""); it can still dial others. Default false.
	DialOnly bool
	// QueueLen bounds each direction of each connection, in frames. A sender
	// that finds the queue full blocks until its ctx ends. Default 4096;
	// larger absorbs longer bursts at the price of memory per connection.
	QueueLen int
	// Logger for this endpoint; a child with component=memnet and the node
	// name is derived. Default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultEndpointConfig returns the defaults for the optional fields; Name
// and Cookie must still be set.
func DefaultEndpointConfig() EndpointConfig {
	return EndpointConfig{QueueLen: 4096, Logger: zerolog.Nop()}
}

func (c *EndpointConfig) validate() error {
	if err := validName(c.Name); err != nil {
		return err
	}
	if len(c.Cookie) == 0 {
		return fmt.Errorf("%w: empty cookie", ErrBadConfig)
	}
	if c.QueueLen == 0 {
		c.QueueLen = 4096
	}
	if c.QueueLen < 1 {
		return fmt.Errorf("%w: QueueLen %d < 1", ErrBadConfig, c.QueueLen)
	}
	return nil
}

func validName(name string) error {
	at := strings.IndexByte(name, '@')
	if at <= 0 || at == len(name)-1 || strings.Count(name, "@") != 1 {
		return fmt.Errorf("%w: %q", transport.ErrBadName, name)
	}
	return nil
}

// Endpoint is one node's transport on a Network. It implements
// transport.Transport; its methods are safe for concurrent use.
type Endpoint struct {
	net *Network
	cfg EndpointConfig
	h   transport.Handler
	log zerolog.Logger

	// mu guards the fields below. Lock order: Network.mu, then mu.
	mu       sync.RWMutex
	conns    map[string]*side         // this endpoint's side of each live connection, by peer
	lastDone map[string]chan struct{} // exit channel of the latest reader per peer
	closed   bool

	wg sync.WaitGroup // reader goroutines whose handler is h
}

var _ transport.Transport = (*Endpoint)(nil)

// Listen opens an endpoint named cfg.Name on the network; frames and peer
// events for it go to h. The caller's cfg is copied.
func (n *Network) Listen(cfg EndpointConfig, h transport.Handler) (*Endpoint, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadConfig)
	}
	cfg.Cookie = append([]byte(nil), cfg.Cookie...)
	e := &Endpoint{
		net: n, cfg: cfg, h: h,
		log:      cfg.Logger.With().Str("component", "memnet").Str("node", cfg.Name).Logger(),
		conns:    map[string]*side{},
		lastDone: map[string]chan struct{}{},
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.endpoints[cfg.Name]; dup {
		return nil, fmt.Errorf("%w: %s", ErrNameInUse, cfg.Name)
	}
	n.endpoints[cfg.Name] = e
	return e, nil
}

// Name returns the node name.
func (e *Endpoint) Name() string { return e.cfg.Name }

// Addr returns a pseudo address ("mem:" + name), or "" for a dial-only
// endpoint.
func (e *Endpoint) Addr() string {
	if e.cfg.DialOnly {
		return ""
	}
	return "mem:" + e.cfg.Name
}

// SetAddr is a no-op: endpoints are found by name.
func (e *Endpoint) SetAddr(node, addr string) {}

// Send queues m for node, connecting first if needed. See
// transport.Transport.
func (e *Endpoint) Send(ctx context.Context, node string, m *transport.Message) error {
	if m == nil {
		return fmt.Errorf("%w: nil message", transport.ErrProtocol)
	}
	s, err := e.sideFor(ctx, node)
	if err != nil {
		return err
	}
	return s.c.send(ctx, s.other, m)
}

// Connect establishes (or confirms) a connection to node.
func (e *Endpoint) Connect(ctx context.Context, node string) error {
	_, err := e.sideFor(ctx, node)
	return err
}

// Disconnect gracefully closes the connection to node, if any: frames
// already queued are delivered, then both sides get PeerDown with
// transport.ErrConnClosed.
func (e *Endpoint) Disconnect(node string) error {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	if c := e.net.conns[mkpair(e.cfg.Name, node)]; c != nil && e.ownsLocked(c) {
		e.net.teardownLocked(c, transport.ErrConnClosed, transport.ErrConnClosed, true)
	}
	return nil
}

// ownsLocked reports whether c is one of e's connections. Caller holds
// Network.mu.
func (e *Endpoint) ownsLocked(c *conn) bool {
	return c.sides[0].owner == e || c.sides[1].owner == e
}

// Peers lists the peers with a live connection.
func (e *Endpoint) Peers() []transport.PeerInfo {
	e.mu.RLock()
	out := make([]transport.PeerInfo, 0, len(e.conns))
	for _, s := range e.conns {
		out = append(out, s.peer)
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close closes every connection (PeerDown with transport.ErrShutdown here,
// transport.ErrConnClosed at each peer), removes the endpoint from the
// network and waits for its reader goroutines. Idempotent.
func (e *Endpoint) Close() error {
	n := e.net
	n.mu.Lock()
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if !already {
		if n.endpoints[e.cfg.Name] == e {
			delete(n.endpoints, e.cfg.Name)
		}
		for p, c := range n.conns {
			if p.a == e.cfg.Name || p.b == e.cfg.Name {
				mine, theirs := transport.ErrShutdown, transport.ErrConnClosed
				n.teardownSidesLocked(c, e, mine, theirs, true)
			}
		}
	}
	n.mu.Unlock()
	e.wg.Wait()
	return nil
}

// sideFor returns e's side of the connection to node, dialling if needed.
func (e *Endpoint) sideFor(ctx context.Context, node string) (*side, error) {
	e.mu.RLock()
	s, closed := e.conns[node], e.closed
	e.mu.RUnlock()
	if closed {
		return nil, transport.ErrShutdown
	}
	if s != nil {
		return s, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", transport.ErrNoConnection, err)
	}
	return e.dial(node)
}

// dial connects e to node: checks the link, the peer and the cookies, then
// creates the connection and starts both readers.
func (e *Endpoint) dial(node string) (*side, error) {
	if err := validName(node); err != nil {
		return nil, fmt.Errorf("%w: %w", transport.ErrNoConnection, err)
	}
	if node == e.cfg.Name {
		return nil, fmt.Errorf("%w: cannot connect to self", transport.ErrNoConnection)
	}
	// The cookie callbacks are user code: call them before taking locks.
	mine := e.cookieFor(node)
	n := e.net
	n.mu.Lock()
	peer := n.endpoints[node]
	n.mu.Unlock()
	if peer == nil || peer.cfg.DialOnly {
		return nil, fmt.Errorf("%w: no endpoint listening as %s", transport.ErrNoConnection, node)
	}
	theirs := peer.cookieFor(e.cfg.Name)

	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dialLocked(e, peer, mine, theirs)
}

func (n *Network) dialLocked(e, peer *Endpoint, mine, theirs []byte) (*side, error) {
	if e.isClosed() {
		return nil, transport.ErrShutdown
	}
	if c := n.conns[mkpair(e.cfg.Name, peer.cfg.Name)]; c != nil {
		return c.sideOf(e), nil // someone connected meanwhile
	}
	if _, cut := n.cuts[mkpair(e.cfg.Name, peer.cfg.Name)]; cut {
		return nil, fmt.Errorf("%w: link %s-%s is cut", transport.ErrNoConnection, e.cfg.Name, peer.cfg.Name)
	}
	if n.endpoints[peer.cfg.Name] != peer || peer.isClosed() {
		return nil, fmt.Errorf("%w: no endpoint listening as %s", transport.ErrNoConnection, peer.cfg.Name)
	}
	if subtle.ConstantTimeCompare(mine, theirs) != 1 {
		peer.log.Warn().Str("peer", e.cfg.Name).Str("addr", e.Addr()).Msg("handshake rejected: cookie mismatch")
		return nil, fmt.Errorf("%w: %w: %s rejected the handshake", transport.ErrNoConnection, transport.ErrAuth, peer.cfg.Name)
	}
	c := n.newConnLocked(e, peer)
	return c.sideOf(e), nil
}

func (e *Endpoint) cookieFor(peer string) []byte {
	if e.cfg.CookieFor != nil {
		if c := e.cfg.CookieFor(peer); c != nil {
			return c
		}
	}
	return e.cfg.Cookie
}

func (e *Endpoint) isClosed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.closed
}

// info is how e appears to its peers.
func (e *Endpoint) info() transport.PeerInfo {
	return transport.PeerInfo{
		Name: e.cfg.Name, Addr: e.Addr(), Hidden: e.cfg.Hidden,
		Creation: e.cfg.Creation, Version: 1,
	}
}
