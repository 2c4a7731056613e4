package demo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
)

// demoNet is the data-plane twin of membership.FaultNet for the demo's
// partition: every node's TCP transport is wrapped so that it refuses to
// send to, or connect to, a node on the other side of a cut. Since each
// side filters what it sends, a cut blocks both directions; connections
// open at the time of the cut are closed.
type demoNet struct {
	mu      sync.Mutex                // guards blocked and eps
	blocked map[[2]string]bool        // cut pairs, names in sorted order
	eps     map[string]*demoTransport // by node name (a restart replaces it)
}

func newDemoNet() *demoNet {
	return &demoNet{blocked: map[[2]string]bool{}, eps: map[string]*demoTransport{}}
}

// demoTransport is a TCP endpoint that obeys its demoNet.
type demoTransport struct {
	transport.Transport
	net     *demoNet
	crashed atomic.Bool
}

// factory returns a node.TransportFactory: node.TCP on 127.0.0.1 (a free
// port, or the first free one in [portMin, portMax]) wrapped for the
// demoNet.
func (n *demoNet) factory(cookie []byte, portMin, portMax int, log zerolog.Logger) node.TransportFactory {
	tc := transport.DefaultConfig()
	tc.Cookie, tc.Logger = cookie, log
	tc.ListenAddr, tc.PortMin, tc.PortMax = "127.0.0.1:0", portMin, portMax
	tcp := node.TCP(tc)
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		ep, err := tcp(p, h)
		if err != nil {
			return nil, err
		}
		t := &demoTransport{Transport: ep, net: n}
		n.mu.Lock()
		n.eps[p.Name] = t
		n.mu.Unlock()
		return t, nil
	}
}

func demoPair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// check returns an error if from may not talk to to.
func (n *demoNet) check(from, to string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blocked[demoPair(from, to)] {
		return fmt.Errorf("%w: %w", transport.ErrNoConnection, ErrCut)
	}
	return nil
}

// Send implements transport.Transport, refusing peers across a cut.
func (t *demoTransport) Send(ctx context.Context, peer string, m *transport.Message) error {
	if err := t.usable(peer); err != nil {
		return err
	}
	return t.Transport.Send(ctx, peer, m)
}

// Connect implements transport.Transport, refusing peers across a cut.
func (t *demoTransport) Connect(ctx context.Context, peer string) error {
	if err := t.usable(peer); err != nil {
		return err
	}
	return t.Transport.Connect(ctx, peer)
}

func (t *demoTransport) usable(peer string) error {
	if t.crashed.Load() {
		return transport.ErrShutdown
	}
	return t.net.check(t.Name(), peer)
}

// partition cuts every pair between a and b and closes their connections.
func (n *demoNet) partition(a, b []string) {
	n.mu.Lock()
	for _, x := range a {
		for _, y := range b {
			n.blocked[demoPair(x, y)] = true
		}
	}
	n.mu.Unlock()
	n.disconnectCut()
}

// disconnectCut closes every open connection across a cut; it reports
// whether there was one.
func (n *demoNet) disconnectCut() bool {
	type conn struct {
		t    *demoTransport
		peer string
	}
	n.mu.Lock()
	eps := slices.Collect(maps.Values(n.eps))
	n.mu.Unlock()
	var open []conn
	for _, t := range eps { // Peers outside n.mu: the endpoint has locks of its own
		for _, p := range t.Peers() {
			if n.check(t.Name(), p.Name) != nil {
				open = append(open, conn{t, p.Name})
			}
		}
	}
	for _, c := range open {
		_ = c.t.Disconnect(c.peer)
	}
	return len(open) > 0
}

// heal removes every cut.
func (n *demoNet) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
}

// crash closes a node's transport at once, as a crash would: its peers
// see every connection drop, and it sends nothing more.
func (n *demoNet) crash(name string) {
	n.mu.Lock()
	t := n.eps[name]
	delete(n.eps, name)
	n.mu.Unlock()
	if t != nil {
		t.crashed.Store(true)
		_ = t.Transport.Close()
	}
}
