package memnet

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/internal/ratelog"
	"github.com/placerhq/placer/transport"
)

// EndpointConfig configures one endpoint (one node) on a Network. The fields
// mirror transport.Config where they mean the same thing.
//
// Zero values: a zero field means its documented default; Listen rejects
// any other value out of range with an error wrapping ErrBadConfig that
// names the field.
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
	// MaxFrameSize is the largest frame body, in bytes, this endpoint
	// accepts, as transport.Config.MaxFrameSize: a Send whose body
	// (transport.BodySize) exceeds the receiver's limit fails with
	// transport.ErrFrameTooLarge, as on TCP. 0 means the TCP default,
	// 1 MiB; range 1 KiB–1 GiB.
	MaxFrameSize int
	// QueueLen bounds each direction of each connection, in frames. A sender
	// that finds the queue full blocks until its ctx ends. Default 4096;
	// larger absorbs longer bursts at the price of memory per connection.
	QueueLen int
	// Logger for this endpoint; a child with component=memnet and the node
	// name is derived. Default zerolog.Nop().
	Logger zerolog.Logger
}

// defaultMaxFrame is transport.DefaultConfig().MaxFrameSize.
const defaultMaxFrame = 1 << 20

// DefaultEndpointConfig returns the defaults for the optional fields; Name
// and Cookie must still be set.
func DefaultEndpointConfig() EndpointConfig {
	return EndpointConfig{QueueLen: 4096, MaxFrameSize: defaultMaxFrame, Logger: zerolog.Nop()}
}

func (c *EndpointConfig) validate() error {
	if err := validName(c.Name); err != nil {
		return fmt.Errorf("%w: Name: %w", ErrBadConfig, err)
	}
	if len(c.Cookie) == 0 {
		return fmt.Errorf("%w: Cookie is required", ErrBadConfig)
	}
	if c.QueueLen == 0 {
		c.QueueLen = 4096
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = defaultMaxFrame
	}
	if c.MaxFrameSize < 1<<10 || c.MaxFrameSize > 1<<30 {
		return fmt.Errorf("%w: MaxFrameSize %d out of range [1 KiB, 1 GiB]", ErrBadConfig, c.MaxFrameSize)
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
	rl  *ratelog.Logger // rate-limited warnings (rejected handshakes)

	stats struct {
		accepted, authenticated, authFailed, outAuth, outFailed atomic.Uint64
	}

	// mu guards the fields below. Lock order: Network.mu, then mu.
	mu       sync.RWMutex
	conns    map[string]*side         // this endpoint's side of each live connection, by peer
	lastDone map[string]chan struct{} // exit channel of the latest reader per peer
	closed   bool

	readers goset.Set // reader goroutines whose handler is h; stopped with closed
}

var (
	_ transport.Transport   = (*Endpoint)(nil)
	_ transport.StatsSource = (*Endpoint)(nil)
)

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
	e.rl = ratelog.New(e.log, time.Second)
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
	_, err := e.SendCreation(ctx, node, m)
	return err
}

// SendCreation is Send that also reports the creation of the endpoint
// whose connection took m (see transport.CreationSender).
func (e *Endpoint) SendCreation(ctx context.Context, node string, m *transport.Message) (uint32, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: nil message", transport.ErrProtocol)
	}
	s, err := e.sideFor(ctx, node)
	if err != nil {
		return 0, err
	}
	creation := s.other.owner.cfg.Creation
	if err := e.checkSize(node, s.other.owner.cfg.MaxFrameSize, m); err != nil {
		return creation, err
	}
	return creation, s.c.send(ctx, s.other, m)
}

// checkSize refuses a data frame over the receiver's limit, as the TCP
// transport does (other types pass: memnet has no framing of its own).
func (e *Endpoint) checkSize(node string, limit int, m *transport.Message) error {
	n, err := transport.BodySize(e.cfg.Name, node, m)
	if err == nil && n > limit {
		return fmt.Errorf("%w: %v body of %d bytes, %s accepts %d", transport.ErrFrameTooLarge, m.Type, n, node, limit)
	}
	return nil
}

// Stats returns the endpoint's connection counters: the fields of
// transport.Stats that exist without sockets (connections accepted,
// authenticated and refused for their cookie, in both directions).
func (e *Endpoint) Stats() transport.Stats {
	s := &e.stats
	return transport.Stats{
		InboundAccepted: s.accepted.Load(), InboundAuthenticated: s.authenticated.Load(),
		InboundAuthFailed: s.authFailed.Load(), OutboundAuthFailed: s.outAuth.Load(),
		OutboundFailed: s.outFailed.Load(),
	}
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
	e.readers.Stop()
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
	e.readers.Wait()
	e.rl.Close()
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
	peer.stats.accepted.Add(1)
	if subtle.ConstantTimeCompare(mine, theirs) != 1 {
		peer.stats.authFailed.Add(1)
		e.stats.outAuth.Add(1)
		name := e.cfg.Name
		peer.rl.Warn("inbound-auth", "handshake rejected: cookie mismatch", func(ev *zerolog.Event) *zerolog.Event {
			return ev.Str("peer", name)
		})
		return nil, fmt.Errorf("%w: %w: %s rejected the handshake", transport.ErrNoConnection, transport.ErrAuth, peer.cfg.Name)
	}
	peer.stats.authenticated.Add(1)
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
