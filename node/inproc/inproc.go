// Package inproc starts clusters of nodes inside one process, for tests,
// benchmarks and demos of the node layer and of everything built on it: on
// the in-memory transport (transport/memnet), whose links can be cut,
// delayed and restored, or on the real TCP transport over 127.0.0.1.
//
//	c, err := inproc.Start(3, inproc.Options{})   // memnet
//	defer c.Close()
//	err = c.ConnectAll(ctx)
//	err = c.Cut(0, 2)                             // memnet only
//
// It does not import package testing, so that a binary (placer bench) may
// use it; package nodetest adds the helpers for tests on top of it.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
	"github.com/placerhq/placer/transport/memnet"
)

// Transport selects the wire of a cluster.
type Transport int

const (
	// Memnet is the in-memory transport (default).
	Memnet Transport = iota
	// TCP is the real transport on 127.0.0.1, one listener per node.
	TCP
)

// String names the transport ("memnet", "tcp").
func (t Transport) String() string {
	if t == TCP {
		return "tcp"
	}
	return "memnet"
}

// Options configure a cluster. The zero value is a memnet cluster of
// visible nodes named n1@127.0.0.1, n2@127.0.0.1, ... sharing one cookie.
type Options struct {
	Transport Transport
	// Prefix of node names; default "n".
	Prefix string
	// Cookie shared by every node; default a fixed test cookie.
	Cookie []byte
	// Configure adjusts node i's config before it starts (kinds, rpcs,
	// timeouts, Hidden...). Optional.
	Configure func(i int, cfg *node.Config)
	// Logger for nodes and transports; default zerolog.Nop().
	Logger zerolog.Logger
}

// Member is one node of a cluster with the transport it runs on.
type Member struct {
	Name      string
	Node      *node.Node
	Transport transport.Transport
	cookie    []byte
	hidden    bool
}

// Cluster is a set of nodes in this process.
type Cluster struct {
	opts Options
	// Net is the in-memory network (nil for TCP).
	Net *memnet.Network

	mu      sync.Mutex // guards members and addrs
	members []*Member
	addrs   map[string]string // TCP: node name -> listen address
}

// Start starts n nodes. On error, the nodes already started are closed.
func Start(n int, opts Options) (*Cluster, error) {
	if opts.Prefix == "" {
		opts.Prefix = "n"
	}
	if opts.Cookie == nil {
		opts.Cookie = []byte("nodetest-cookie-0123456789abcdef")
	}
	c := &Cluster{opts: opts, addrs: map[string]string{}}
	if opts.Transport == Memnet {
		mc := memnet.DefaultConfig()
		mc.Logger = opts.Logger
		c.Net = memnet.New(mc)
	}
	for i := range n {
		if _, err := c.Add(fmt.Sprintf("%s%d@127.0.0.1", opts.Prefix, i+1), nil); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// NodeSpec adjusts a node added with Add beyond Options.Configure.
type NodeSpec func(cfg *node.Config, cookie *[]byte)

// Add starts one more node named name; spec may change its config and its
// cookie (e.g. a hidden node, or a wrong cookie). The new node knows the
// addresses of all the others (TCP) and they learn its address.
func (c *Cluster) Add(name string, spec NodeSpec) (*Member, error) {
	c.mu.Lock()
	i := len(c.members)
	c.mu.Unlock()
	m, err := c.start(i, name, spec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.members = append(c.members, m)
	c.mu.Unlock()
	c.shareAddr(m)
	return m, nil
}

// start starts the node for member slot i.
func (c *Cluster) start(i int, name string, spec NodeSpec) (*Member, error) {
	cfg := node.DefaultConfig()
	cfg.Name, cfg.Logger = name, c.opts.Logger
	cookie := c.opts.Cookie
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	if spec != nil {
		spec(&cfg, &cookie)
	}
	m := &Member{Name: name, cookie: cookie, hidden: cfg.Hidden}
	cfg.Transport = c.factory(m)
	nd, err := node.New(cfg)
	if err != nil {
		return nil, err
	}
	m.Node = nd
	return m, nil
}

// factory builds the transport factory for member m.
func (c *Cluster) factory(m *Member) node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		var tr transport.Transport
		var err error
		if c.opts.Transport == TCP {
			tc := transport.DefaultConfig()
			tc.Cookie, tc.ListenAddr, tc.Logger = m.cookie, "127.0.0.1:0", c.opts.Logger
			tr, err = node.TCP(tc)(p, h)
		} else {
			ec := memnet.DefaultEndpointConfig()
			ec.Name, ec.Cookie, ec.CookieFor = p.Name, m.cookie, p.CookieFor
			ec.Hidden, ec.Creation, ec.Logger = p.Hidden, p.Creation, c.opts.Logger
			tr, err = c.Net.Listen(ec, h)
		}
		m.Transport = tr
		return tr, err
	}
}

// shareAddr tells every node the TCP address of m and m those of the others.
func (c *Cluster) shareAddr(m *Member) {
	if c.opts.Transport != TCP {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := m.Transport.Addr(); a != "" {
		c.addrs[m.Name] = a
	}
	for _, o := range c.members {
		if o.Node == nil {
			continue
		}
		for name, addr := range c.addrs {
			if name != o.Name {
				o.Node.SetAddr(name, addr)
			}
		}
	}
}

// Len is the number of members (including stopped ones).
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// Member returns member i (in order of Add).
func (c *Cluster) Member(i int) *Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i]
}

// Node returns member i's node.
func (c *Cluster) Node(i int) *node.Node { return c.Member(i).Node }

// Name returns member i's node name.
func (c *Cluster) Name(i int) string { return c.Member(i).Name }

// Names returns the names of members idx (all if none given).
func (c *Cluster) Names(idx ...int) []string {
	if len(idx) == 0 {
		for i := range c.Len() {
			idx = append(idx, i)
		}
	}
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = c.Name(i)
	}
	return out
}

// ConnectAll connects every pair of nodes (a full mesh, as Erlang's
// transitive connections give).
func (c *Cluster) ConnectAll(ctx context.Context) error {
	for i := range c.Len() {
		for j := i + 1; j < c.Len(); j++ {
			if err := c.Node(i).ConnectErr(ctx, c.Name(j)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Cut cuts the link between members i and j (memnet only): both see the
// other go down with a heartbeat timeout, and they cannot reconnect until
// Restore or Heal.
func (c *Cluster) Cut(i, j int) error {
	if c.Net == nil {
		return ErrNotMemnet
	}
	c.Net.Cut(c.Name(i), c.Name(j))
	return nil
}

// Restore undoes Cut(i, j).
func (c *Cluster) Restore(i, j int) error {
	if c.Net == nil {
		return ErrNotMemnet
	}
	c.Net.Restore(c.Name(i), c.Name(j))
	return nil
}

// Partition cuts every link between groups a and b (memnet only).
func (c *Cluster) Partition(a, b []int) error {
	if c.Net == nil {
		return ErrNotMemnet
	}
	c.Net.Partition(c.Names(a...), c.Names(b...))
	return nil
}

// Isolate cuts member i off from every other member (memnet only).
func (c *Cluster) Isolate(i int) error {
	var others []int
	for j := range c.Len() {
		if j != i {
			others = append(others, j)
		}
	}
	return c.Partition([]int{i}, others)
}

// Heal restores every cut link (memnet only).
func (c *Cluster) Heal() error {
	if c.Net == nil {
		return ErrNotMemnet
	}
	c.Net.Heal()
	return nil
}

// Crash kills member i abruptly: its transport closes first, so peers see
// the connection drop (monitors fire noconnection) before anything else,
// then the node shuts down. It returns once every other node has noticed.
func (c *Cluster) Crash(i int) error {
	m := c.Member(i)
	_ = m.Transport.Close()
	return errors.Join(m.Node.Close(), c.awaitGone(i))
}

// Stop shuts member i down cleanly (Node.Close) and returns once every other
// node has seen its connection go down.
func (c *Cluster) Stop(i int) error {
	return errors.Join(c.Member(i).Node.Close(), c.awaitGone(i))
}

// awaitGone waits until no other member lists member i as connected, so
// that a restarted node's connections never race with the old one's
// PeerDown (see docs/node.md, "Reconnects").
func (c *Cluster) awaitGone(i int) error {
	name := c.Name(i)
	deadline := time.Now().Add(goneTimeout)
	for j := 0; j < c.Len(); j++ {
		if j == i {
			continue
		}
		for c.Node(j).IsConnected(name) {
			if time.Now().After(deadline) {
				return fmt.Errorf("inproc: %s still lists %s as connected after %v", c.Name(j), name, goneTimeout)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// goneTimeout bounds awaitGone: above the TCP heartbeat timeout.
const goneTimeout = 10 * time.Second

// Restart replaces stopped (or crashed) member i by a new incarnation with
// the same name and config and a new creation; it returns the new node.
func (c *Cluster) Restart(i int, spec NodeSpec) (*node.Node, error) {
	old := c.Member(i)
	if err := c.Stop(i); err != nil {
		return nil, err
	}
	m, err := c.start(i, old.Name, spec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.members[i] = m
	c.mu.Unlock()
	c.shareAddr(m)
	return m.Node, nil
}

// Close shuts every node down and reports the first error.
func (c *Cluster) Close() error {
	c.mu.Lock()
	ms := append([]*Member(nil), c.members...)
	c.mu.Unlock()
	var errs []error
	for _, m := range ms {
		if err := m.Node.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}
