package placementtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
)

// ErrCut: the wire between two nodes is cut (Partition).
var ErrCut = errors.New("placementtest: the wire between these nodes is cut")

// wire is the data plane of a Cluster: every node's transport (memnet or
// TCP) is wrapped so that it refuses to send to, or connect to, a node
// across a cut. Since each side filters what it sends, a cut blocks both
// directions; connections open at the time of a cut are closed.
type wire struct {
	mu      sync.Mutex          // guards blocked and eps
	blocked map[[2]string]bool  // cut pairs, names in sorted order
	eps     map[string]*wireEnd // by node name (a restart replaces it)
}

func newWire() *wire {
	return &wire{blocked: map[[2]string]bool{}, eps: map[string]*wireEnd{}}
}

// wireEnd is one node's transport, obeying its wire.
type wireEnd struct {
	transport.Transport
	w       *wire
	crashed atomic.Bool
}

// wrap returns a factory whose transports obey w.
func (w *wire) wrap(inner node.TransportFactory) node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		t, err := inner(p, h)
		if err != nil {
			return nil, err
		}
		e := &wireEnd{Transport: t, w: w}
		w.mu.Lock()
		w.eps[p.Name] = e
		w.mu.Unlock()
		return e, nil
	}
}

func pairOf(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// check returns an error if from may not talk to to.
func (w *wire) check(from, to string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.blocked[pairOf(from, to)] {
		return fmt.Errorf("%w: %w", transport.ErrNoConnection, ErrCut)
	}
	return nil
}

// Send implements transport.Transport, refusing peers across a cut.
func (e *wireEnd) Send(ctx context.Context, peer string, m *transport.Message) error {
	if err := e.usable(peer); err != nil {
		return err
	}
	return e.Transport.Send(ctx, peer, m)
}

// SendCreation implements transport.CreationSender, refusing peers across
// a cut.
func (e *wireEnd) SendCreation(ctx context.Context, peer string, m *transport.Message) (uint32, error) {
	if err := e.usable(peer); err != nil {
		return 0, err
	}
	return transport.CreationSenderOf(e.Transport).SendCreation(ctx, peer, m)
}

// Connect implements transport.Transport, refusing peers across a cut.
func (e *wireEnd) Connect(ctx context.Context, peer string) error {
	if err := e.usable(peer); err != nil {
		return err
	}
	return e.Transport.Connect(ctx, peer)
}

// Stats passes the transport's handshake counters through (zero if it
// does not count).
func (e *wireEnd) Stats() transport.Stats {
	if s, ok := e.Transport.(transport.StatsSource); ok {
		return s.Stats()
	}
	return transport.Stats{}
}

func (e *wireEnd) usable(peer string) error {
	if e.crashed.Load() {
		return fmt.Errorf("%w: crashed", transport.ErrShutdown)
	}
	return e.w.check(e.Name(), peer)
}

// cut blocks every pair between a and b and closes their connections.
func (w *wire) cut(a, b []string) {
	w.mu.Lock()
	for _, x := range a {
		for _, y := range b {
			w.blocked[pairOf(x, y)] = true
		}
	}
	w.mu.Unlock()
	w.disconnectCut()
}

// disconnectCut closes every open connection across a cut and returns how
// many there were.
func (w *wire) disconnectCut() int {
	w.mu.Lock()
	eps := slices.Collect(maps.Values(w.eps))
	w.mu.Unlock()
	n := 0
	for _, e := range eps { // Peers outside w.mu: the endpoint has locks of its own
		for _, p := range e.Peers() {
			if w.check(e.Name(), p.Name) != nil {
				_ = e.Disconnect(p.Name)
				n++
			}
		}
	}
	return n
}

// heal removes every cut.
func (w *wire) heal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.blocked)
}

// crash closes a node's transport at once, as a crash would: its peers see
// every connection drop, and it sends nothing more.
func (w *wire) crash(name string) {
	w.mu.Lock()
	e := w.eps[name]
	delete(w.eps, name)
	w.mu.Unlock()
	if e != nil {
		e.crashed.Store(true)
		_ = e.Transport.Close()
	}
}

// forget drops a closed node's transport.
func (w *wire) forget(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.eps, name)
}
