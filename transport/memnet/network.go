// Package memnet is an in-memory implementation of transport.Transport for
// tests and benchmarks: endpoints of one Network exchange frames through
// bounded in-process queues instead of TCP, with the same observable
// semantics as the TCP endpoint, plus fault controls that real sockets cannot
// give a unit test (cut and restore a link, partition and heal, delay and
// drop frames).
//
// Semantics shared with the TCP transport:
//   - a connection is set up on first Send (or Connect) and is authenticated
//     by comparing the cookies both sides hold for each other (the own
//     cookie, or the per-peer override from CookieFor); a mismatch fails the
//     dial with an error wrapping transport.ErrNoConnection and
//     transport.ErrAuth, logs a rejection on the accepting side, and changes
//     no state on either side;
//   - PeerInfo carries the peer's hidden flag and creation;
//   - one connection per node pair, whoever dials first;
//   - frames from one Send caller to one node are delivered in order, each
//     direction by its own goroutine (the "reader") that calls the receiving
//     Handler; PeerUp precedes every HandleMessage of a connection, PeerDown
//     follows the last one, exactly once per PeerUp, and callbacks for one
//     peer never run concurrently (a new connection's PeerUp waits for the
//     previous connection's PeerDown);
//   - a full inbound queue blocks the sender until its ctx ends
//     (transport.ErrQueueFull), like the TCP outbound queue;
//   - a data frame whose body (transport.BodySize) exceeds the receiver's
//     MaxFrameSize fails with transport.ErrFrameTooLarge;
//   - Stats counts dials accepted, authenticated and refused for the
//     cookie, and cookie-mismatch warnings are rate-limited as on TCP;
//   - Close ends every goroutine the endpoint started.
//
// Close reasons: Endpoint.Close gives PeerDown(transport.ErrShutdown) locally
// and PeerDown(transport.ErrConnClosed) at the peer; Disconnect gives
// ErrConnClosed on both sides; both are graceful (frames queued before the
// close are still delivered). Cut gives ErrHeartbeatTimeout on both sides —
// what a real transport reports when a link goes silent — and drops the
// frames still in flight.
//
// A Network holds no global state: every test makes its own.
package memnet

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/transport"
)

// Config configures a Network. Zero values: a zero field means its
// documented default.
type Config struct {
	// Logger receives connection and rejection events (never cookies).
	// Default zerolog.Nop().
	Logger zerolog.Logger
	// Seed seeds the random source that decides which frames Faults.DropRate
	// drops, so a failing test can be replayed. Default 1.
	Seed uint64
}

// DefaultConfig returns the defaults: a silent logger and seed 1.
func DefaultConfig() Config {
	return Config{Logger: zerolog.Nop(), Seed: 1}
}

// Faults degrade a link between two nodes, in both directions.
type Faults struct {
	// Delay is added to every frame's delivery time. Frames keep their order
	// (a frame never overtakes an earlier one). Zero = none.
	Delay time.Duration
	// DropRate is the probability in [0, 1] that a frame is silently lost
	// (Send still returns nil, as a TCP peer cannot tell either). Zero = none.
	// Dropping breaks the transport's delivery promise on purpose: use it to
	// test what the layers above do about loss.
	DropRate float64
}

func (f Faults) validate() error {
	if f.Delay < 0 || f.DropRate < 0 || f.DropRate > 1 {
		return fmt.Errorf("%w: faults %+v out of range", ErrBadConfig, f)
	}
	return nil
}

// pair is an unordered pair of node names, a < b.
type pair struct{ a, b string }

func mkpair(x, y string) pair {
	if x > y {
		x, y = y, x
	}
	return pair{x, y}
}

// Network is a set of in-memory endpoints that can reach each other by name.
// Its methods are safe for concurrent use.
type Network struct {
	log zerolog.Logger

	// mu guards the maps below and every structural change of a connection
	// (dial, teardown). Lock order: Network.mu before Endpoint.mu. Handlers
	// are never called with mu held.
	mu        sync.Mutex
	endpoints map[string]*Endpoint // open endpoints by node name
	conns     map[pair]*conn       // live connections
	cuts      map[pair]struct{}    // links that are cut
	faults    map[pair]Faults      // links with faults
	rng       *rand.Rand           // drop decisions; guarded by rngMu
	rngMu     sync.Mutex
}

// New returns an empty network.
func New(cfg Config) *Network {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	return &Network{
		log:       cfg.Logger.With().Str("component", "memnet").Logger(),
		endpoints: map[string]*Endpoint{},
		conns:     map[pair]*conn{},
		cuts:      map[pair]struct{}{},
		faults:    map[pair]Faults{},
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
}

// Cut breaks the link between nodes a and b: a live connection between them
// is torn down at once (both sides see PeerDown with
// transport.ErrHeartbeatTimeout; frames in flight are lost) and every dial
// between them fails with transport.ErrNoConnection until Restore or Heal.
// Other links are untouched. Cutting an already cut link is a no-op.
func (n *Network) Cut(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cutLocked(a, b)
}

func (n *Network) cutLocked(a, b string) {
	p := mkpair(a, b)
	n.cuts[p] = struct{}{}
	if c := n.conns[p]; c != nil {
		n.log.Debug().Str("a", a).Str("b", b).Msg("link cut")
		n.teardownLocked(c, transport.ErrHeartbeatTimeout, transport.ErrHeartbeatTimeout, false)
	}
}

// Restore lets a and b connect again after Cut. It does not reconnect them:
// the next Send or Connect does, as with a real network.
func (n *Network) Restore(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cuts, mkpair(a, b))
}

// Partition cuts every link between a node of groupA and a node of groupB.
// Links inside each group are untouched.
func (n *Network) Partition(groupA, groupB []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range groupA {
		for _, b := range groupB {
			if a != b {
				n.cutLocked(a, b)
			}
		}
	}
}

// Heal restores every cut link (see Restore). Faults set with SetFaults stay.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cuts)
}

// IsCut reports whether the link between a and b is cut.
func (n *Network) IsCut(a, b string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.cuts[mkpair(a, b)]
	return ok
}

// SetFaults degrades the link between a and b (both directions), for the
// live connection and every later one, until ClearFaults. It fails only for
// out-of-range values.
func (n *Network) SetFaults(a, b string, f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p := mkpair(a, b)
	n.faults[p] = f
	if c := n.conns[p]; c != nil {
		c.setFaults(f)
	}
	return nil
}

// ClearFaults removes the faults of every link.
func (n *Network) ClearFaults() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.faults)
	for _, c := range n.conns {
		c.setFaults(Faults{})
	}
}

// Nodes lists the names of the open endpoints, sorted.
func (n *Network) Nodes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.endpoints))
	for name := range n.endpoints {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// drop decides whether a frame on a link with drop rate r is lost.
func (n *Network) drop(r float64) bool {
	if r <= 0 {
		return false
	}
	n.rngMu.Lock()
	defer n.rngMu.Unlock()
	return n.rng.Float64() < r
}
