package placementtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/transport"
	"github.com/placerhq/placer/transport/memnet"
)

// ErrNotMember: the node is not (or no longer) a node of this Cluster.
var ErrNotMember = errors.New("placementtest: not a node of this cluster")

// Options configure a Cluster. The zero value is a cluster of static views
// on memnet with the test kinds.
type Options struct {
	// Nodes is how many nodes Start starts. Default 0 (add them with Add).
	Nodes int
	// Gossip runs real Serf (membership.ProfileLocal) on 127.0.0.1 through
	// a membership.FaultNet; each new node joins the first. Default false:
	// static views (placement.Config.Static) that the harness installs.
	Gossip bool
	// ManualViews (static views only) leaves each node's view alone: a
	// node starts with a view of itself and changes only with SetView.
	// Default false: Add, Crash, Leave, Partition and Heal install the
	// views a gossip membership would converge to.
	ManualViews bool
	// TCP runs the node transport on TCP 127.0.0.1 instead of memnet.
	TCP bool
	// Prefix names the nodes: prefix1@127.0.0.1, prefix2@127.0.0.1, ...
	// Default "n".
	Prefix string
	// Cookie is the cluster cookie. Default 32 random bytes.
	Cookie []byte
	// Kinds are registered on every node beside the test kinds (Kinds).
	Kinds map[string]node.KindFactory
	// Configure, if set, adjusts each node's config before it starts (i is
	// the node's number, from 1). Transport settings (ListenAddr, PortMin,
	// PortMax, TLS, Resolve) may be set for TCP; the harness wraps the
	// transport they describe.
	Configure func(i int, cfg *placement.Config)
	// Logger receives every node's logs. Default zerolog.Nop().
	Logger zerolog.Logger
}

// Cluster is an in-process placer cluster. Its methods are safe for
// concurrent use.
type Cluster struct {
	o      Options
	cookie []byte
	net    *memnet.Network      // nil on TCP
	fn     *membership.FaultNet // nil with static views
	wire   *wire

	mu      sync.Mutex // guards the fields below
	started int
	nodes   []*placement.Cluster // live, in start order
	cut     [][]string           // the sides of the current partition, if any
	lost    map[string][]CounterState
}

// Start starts a cluster of o.Nodes nodes and waits (up to 20 s) until
// their views agree.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	c, err := newCluster(o)
	if err != nil {
		return nil, err
	}
	for range o.Nodes {
		if _, err := c.Add(); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	if o.Nodes > 0 && !o.ManualViews {
		if err := WaitFor(ctx, 20*time.Second, func() error { return Converged(c.Nodes(), o.Nodes) }); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

func newCluster(o Options) (*Cluster, error) {
	if o.Prefix == "" {
		o.Prefix = "n"
	}
	c := &Cluster{o: o, cookie: slices.Clone(o.Cookie), wire: newWire()}
	if len(c.cookie) == 0 {
		c.cookie = make([]byte, membership.MinCookieLen)
		if _, err := rand.Read(c.cookie); err != nil {
			return nil, err
		}
	}
	if !o.TCP {
		c.net = memnet.New(memnet.DefaultConfig())
	}
	if o.Gossip {
		c.fn = membership.NewFaultNet(o.Logger)
	}
	return c, nil
}

// TB is what New needs of a test (testing.TB has it).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// New starts a cluster for a test: it fails t if the cluster does not
// start, and closes it when the test ends.
func New(t TB, o Options) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("placementtest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Add starts one more node. With gossip it joins the first node; with
// static views (unless ManualViews) every live node's view gains it.
func (c *Cluster) Add() (*placement.Cluster, error) { return c.AddWith(nil) }

// AddWith is Add with configure adjusting this node's config after
// Options.Configure.
func (c *Cluster) AddWith(configure func(*placement.Config)) (*placement.Cluster, error) {
	return c.AddNamed("", configure)
}

// NextName is the name the next Add will give.
func (c *Cluster) NextName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeName(c.started + 1)
}

func (c *Cluster) nodeName(i int) string { return fmt.Sprintf("%s%d@127.0.0.1", c.o.Prefix, i) }

// AddNamed is AddWith for a node named name ("" for the next name): for
// instance a crashed node restarted under its old name (a new creation).
func (c *Cluster) AddNamed(name string, configure func(*placement.Config)) (*placement.Cluster, error) {
	c.mu.Lock()
	c.started++
	i := c.started
	var seed string
	if c.fn != nil && len(c.nodes) > 0 {
		seed = c.nodes[0].Membership().GossipAddr()
	}
	c.mu.Unlock()
	cfg, err := c.config(i, seed, configure)
	if err != nil {
		return nil, err
	}
	if name != "" {
		cfg.Name = name
	}
	p, err := placement.Start(cfg)
	if err != nil {
		c.wire.forget(cfg.Name)
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, p)
	c.mu.Unlock()
	c.syncViews()
	return p, nil
}

// config builds node i's config.
func (c *Cluster) config(i int, seed string, configure func(*placement.Config)) (placement.Config, error) {
	cfg := placement.DefaultConfig()
	cfg.Name, cfg.Cookie = c.nodeName(i), slices.Clone(c.cookie)
	cfg.Kinds = Kinds()
	maps.Copy(cfg.Kinds, c.o.Kinds)
	cfg.VNodes = 128
	cfg.HandoffTimeout = 3 * time.Second
	cfg.ReconcileInterval = 100 * time.Millisecond
	cfg.Node.MailboxSize = 1 << 14
	cfg.Logger = c.o.Logger
	if c.fn == nil {
		cfg.Static = true
	} else if err := c.gossipConfig(&cfg, seed); err != nil {
		return cfg, err
	}
	if c.o.Configure != nil {
		c.o.Configure(i, &cfg)
	}
	if configure != nil {
		configure(&cfg)
	}
	c.chainConflict(&cfg)
	c.setTransport(&cfg)
	return cfg, nil
}

func (c *Cluster) gossipConfig(cfg *placement.Config, seed string) error {
	mc := membership.DefaultConfig()
	mc.Profile = membership.ProfileLocal
	mc.ReconcileInterval = 100 * time.Millisecond
	mc.RetryJoinInterval = 100 * time.Millisecond
	mc.Logger = c.o.Logger
	tr, err := c.fn.NewTransport("127.0.0.1", 0)
	if err != nil {
		return err
	}
	mc.Transport = tr
	if seed != "" {
		mc.Join = []string{seed}
	}
	cfg.Membership = mc
	cfg.JoinTimeout = 5 * time.Second
	return nil
}

// chainConflict records every conflict's losing state (LostStates), then
// calls a Conflict callback set by Configure.
func (c *Cluster) chainConflict(cfg *placement.Config) {
	user := cfg.Conflict
	if user == nil {
		cfg.Conflict = c.recordConflict
		return
	}
	cfg.Conflict = func(cf placement.Conflict) {
		c.recordConflict(cf)
		user(cf)
	}
}

// setTransport gives the node the wire's transport: memnet, or the TCP
// transport the config describes.
func (c *Cluster) setTransport(cfg *placement.Config) {
	var inner node.TransportFactory
	if c.net != nil {
		inner = c.memnetFactory()
	} else {
		inner = cfg.TCPTransport()
		cfg.ListenAddr, cfg.PortMin, cfg.PortMax, cfg.TLS, cfg.Resolve = "", 0, 0, nil, nil
	}
	cfg.Transport = c.wire.wrap(inner)
}

func (c *Cluster) memnetFactory() node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		ec := memnet.DefaultEndpointConfig()
		ec.Name, ec.Cookie, ec.CookieFor, ec.Creation = p.Name, c.cookie, p.CookieFor, p.Creation
		return c.net.Listen(ec, h)
	}
}

// Nodes returns the live nodes, in start order.
func (c *Cluster) Nodes() []*placement.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// Node returns the i-th live node (from 0).
func (c *Cluster) Node(i int) *placement.Cluster { return c.Nodes()[i] }

// Names returns the live nodes' names, in start order.
func (c *Cluster) Names() []string { return Names(c.Nodes()) }

// Names returns the names of cs.
func Names(cs []*placement.Cluster) []string {
	out := make([]string, len(cs))
	for i, p := range cs {
		out[i] = p.Name()
	}
	return out
}

// FaultNet is the gossip network (nil with static views): tests may
// partition gossip alone with it.
func (c *Cluster) FaultNet() *membership.FaultNet { return c.fn }

// Cookie returns the cluster cookie (for a hidden Client in a test).
func (c *Cluster) Cookie() []byte { return slices.Clone(c.cookie) }

// remove drops p from the live nodes.
func (c *Cluster) remove(p *placement.Cluster) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.nodes, p)
	if i < 0 {
		return fmt.Errorf("%w: %s", ErrNotMember, p.Name())
	}
	c.nodes = slices.Delete(c.nodes, i, i+1)
	return nil
}

// Crash stops p as a crash would: its transport closes at once (its peers
// see noconnection, its monitors fire), its gossip goes silent (Serf marks
// it failed), then it is closed. With static views the others' views drop
// it.
func (c *Cluster) Crash(p *placement.Cluster) error {
	if err := c.remove(p); err != nil {
		return err
	}
	if c.fn != nil {
		c.fn.Isolate(p.Membership().GossipAddr())
	}
	c.wire.crash(p.Name())
	c.syncViews()
	return p.Close()
}

// Leave makes p leave gracefully (placement.Cluster.Leave): it hands every
// key off and goes. With static views the others see it draining, then
// gone.
func (c *Cluster) Leave(ctx context.Context, p *placement.Cluster) error {
	if c.fn != nil || c.o.ManualViews {
		err := p.Leave(ctx)
		c.wire.forget(p.Name())
		return errors.Join(err, c.remove(p))
	}
	c.setStaticViews(p)
	err := p.Drain(ctx)
	if rerr := c.remove(p); rerr != nil {
		return rerr
	}
	c.syncViews()
	c.wire.forget(p.Name())
	return errors.Join(err, p.Leave(ctx))
}

// Close closes every live node (at once, in parallel, without leaving).
func (c *Cluster) Close() error {
	c.mu.Lock()
	nodes := c.nodes
	c.nodes = nil
	c.mu.Unlock()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, p := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ClientConfig returns a placement.ClientConfig that reaches agents over
// this cluster's network: the cookie, the agents (with their addresses on
// TCP), and on memnet a hidden dial-only transport on the same network.
func (c *Cluster) ClientConfig(agents ...*placement.Cluster) placement.ClientConfig {
	cfg := placement.DefaultClientConfig()
	cfg.Cookie = slices.Clone(c.cookie)
	for _, a := range agents {
		addr := ""
		if c.net == nil {
			addr = a.Node().Addr()
		}
		cfg.Agents = append(cfg.Agents, placement.AgentAddr{Name: a.Name(), Addr: addr})
	}
	cfg.Transport = c.ClientTransport(c.cookie)
	return cfg
}

// ClientTransport is the transport of a hidden client on this cluster's
// memnet network, with cookie (nil on TCP: the client dials the agents'
// addresses).
func (c *Cluster) ClientTransport(cookie []byte) node.TransportFactory {
	if c.net == nil {
		return nil
	}
	cookie = slices.Clone(cookie)
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		ec := memnet.DefaultEndpointConfig()
		ec.Name, ec.Cookie, ec.Creation, ec.Hidden, ec.DialOnly = p.Name, cookie, p.Creation, p.Hidden, true
		return c.net.Listen(ec, h)
	}
}

// PlainTransport is a transport factory for a bare node.Node (no Serf, no
// ring: a hidden observer, a node with another cookie) on this cluster's
// network, obeying its cuts.
func (c *Cluster) PlainTransport(cookie []byte) node.TransportFactory {
	if c.net != nil {
		cookie = slices.Clone(cookie)
		return c.wire.wrap(func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
			ec := memnet.DefaultEndpointConfig()
			ec.Name, ec.Cookie, ec.CookieFor, ec.Creation, ec.Hidden = p.Name, cookie, p.CookieFor, p.Creation, p.Hidden
			return c.net.Listen(ec, h)
		})
	}
	cfg := placement.DefaultConfig()
	cfg.Cookie, cfg.Logger = cookie, c.o.Logger
	return c.wire.wrap(cfg.TCPTransport())
}

// CutConnections closes the connections still open across the current
// partition (a dial that was under way when it began may finish after it)
// and returns how many it closed: 0 once the cut is complete.
func (c *Cluster) CutConnections() int { return c.wire.disconnectCut() }
