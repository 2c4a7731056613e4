package membership

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// FaultNet is test infrastructure: a controller shared by the gossip
// transports of every in-process member of a test cluster, which drops
// traffic between chosen sets of nodes so that partitions, isolation and
// heal run in `go test` without root or real network faults.
//
// Nodes are identified by gossip address ("ip:port", see
// Membership.GossipAddr and FaultTransport.Addr). Each FaultTransport
// filters what it sends: UDP packets to a blocked peer are silently dropped
// (as a partitioned network would), dials to a blocked peer fail at once
// with ErrPartitioned, and an open stream between two nodes that become
// blocked fails on its next read or write. Because every member filters
// its own outbound traffic, blocking a pair cuts both directions; all
// members of a test should therefore use transports of the same FaultNet.
//
// All methods are safe for concurrent use.
type FaultNet struct {
	log zerolog.Logger

	mu       sync.RWMutex // guards blocked, isolated, tap
	blocked  map[[2]string]struct{}
	isolated map[string]struct{}
	tap      func(from, to string, packet []byte)

	dropped, refused, cut atomic.Uint64
}

// FaultStats counts what a FaultNet dropped.
type FaultStats struct {
	DroppedPackets uint64 // UDP packets not delivered
	RefusedDials   uint64 // stream dials refused
	CutStreams     uint64 // reads/writes failed on streams opened before the cut
}

// NewFaultNet returns a FaultNet with every path open. logger receives the
// memberlist transports' own log lines at debug level.
func NewFaultNet(logger zerolog.Logger) *FaultNet {
	return &FaultNet{
		log:      logger.With().Str("component", "faultnet").Logger(),
		blocked:  make(map[[2]string]struct{}),
		isolated: make(map[string]struct{}),
	}
}

// canonAddr normalizes "host:port" so that equal addresses compare equal
// (IPv4-in-IPv6 forms, leading zeros). Unparseable input is kept as is.
func canonAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	ip := net.ParseIP(host)
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return a
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(p))
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// Partition cuts every path between a node of sideA and a node of sideB
// (both directions). Paths within a side, and to nodes on neither side,
// stay as they are. Partitions add up until Heal.
func (f *FaultNet) Partition(sideA, sideB []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range sideA {
		for _, b := range sideB {
			if ca, cb := canonAddr(a), canonAddr(b); ca != cb {
				f.blocked[pairKey(ca, cb)] = struct{}{}
			}
		}
	}
	f.log.Debug().Strs("side_a", sideA).Strs("side_b", sideB).Msg("partition")
}

// Isolate cuts node off from every other node, including nodes that start
// later, until Heal.
func (f *FaultNet) Isolate(node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isolated[canonAddr(node)] = struct{}{}
	f.log.Debug().Str("node", node).Msg("isolate")
}

// Heal removes every partition and isolation.
func (f *FaultNet) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked = make(map[[2]string]struct{})
	f.isolated = make(map[string]struct{})
	f.log.Debug().Msg("heal")
}

// Reachable reports whether traffic from one gossip address to another
// currently passes.
func (f *FaultNet) Reachable(from, to string) bool {
	from, to = canonAddr(from), canonAddr(to)
	if from == to {
		return true
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, iso1 := f.isolated[from]
	_, iso2 := f.isolated[to]
	_, cut := f.blocked[pairKey(from, to)]
	return !iso1 && !iso2 && !cut
}

// SetTap installs fn to see every UDP packet a FaultTransport sends and
// the FaultNet lets through (nil removes it). fn runs on memberlist's
// goroutines: it must be fast and must not keep packet after returning.
// Tests use it to check that gossip is encrypted.
func (f *FaultNet) SetTap(fn func(from, to string, packet []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tap = fn
}

func (f *FaultNet) tapFn() func(from, to string, packet []byte) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.tap
}

// Stats returns the drop counters.
func (f *FaultNet) Stats() FaultStats {
	return FaultStats{
		DroppedPackets: f.dropped.Load(), RefusedDials: f.refused.Load(), CutStreams: f.cut.Load(),
	}
}

// NewTransport binds a memberlist NetTransport on bindAddr:port (a specific
// IP; port 0 picks a free port) and wraps it in a FaultTransport of f. Pass
// it as Config.Transport; the Membership then owns and shuts it down.
func (f *FaultNet) NewTransport(bindAddr string, port int) (*FaultTransport, error) {
	ip := net.ParseIP(bindAddr)
	if ip == nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("%w: FaultNet needs a specific bind IP, got %q", ErrInvalidArgument, bindAddr)
	}
	inner, err := newNetTransport(bindAddr, port, newStdLogger(f.log))
	if err != nil {
		return nil, fmt.Errorf("%w: bind %s:%d: %w", ErrStart, bindAddr, port, err)
	}
	p := inner.GetAutoBindPort()
	local := canonAddr(net.JoinHostPort(bindAddr, strconv.Itoa(p)))
	return &FaultTransport{net: f, inner: inner, local: local, port: p}, nil
}

// FaultTransport is a memberlist.NodeAwareTransport that sends through a
// real NetTransport unless its FaultNet blocks the destination.
type FaultTransport struct {
	net   *FaultNet
	inner *memberlist.NetTransport
	local string // canonical own address
	port  int
}

var _ memberlist.NodeAwareTransport = (*FaultTransport)(nil)

// Addr returns the transport's own address, "ip:port".
func (t *FaultTransport) Addr() string { return t.local }

// GetAutoBindPort returns the bound port.
func (t *FaultTransport) GetAutoBindPort() int { return t.port }

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *FaultTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo implements memberlist.Transport.
func (t *FaultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport: a packet to a
// blocked peer is dropped silently, as the network would.
func (t *FaultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if !t.net.Reachable(t.local, a.Addr) {
		t.net.dropped.Add(1)
		return time.Now(), nil
	}
	if tap := t.net.tapFn(); tap != nil {
		tap(t.local, canonAddr(a.Addr), b)
	}
	return t.inner.WriteToAddress(b, a)
}

// PacketCh implements memberlist.Transport.
func (t *FaultTransport) PacketCh() <-chan *memberlist.Packet { return t.inner.PacketCh() }

// DialTimeout implements memberlist.Transport.
func (t *FaultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport: a dial to a
// blocked peer fails at once; an open stream fails once its path is cut.
func (t *FaultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if !t.net.Reachable(t.local, a.Addr) {
		t.net.refused.Add(1)
		return nil, fmt.Errorf("%w: %s -> %s", ErrPartitioned, t.local, a.Addr)
	}
	c, err := t.inner.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: c, net: t.net, from: t.local, to: a.Addr}, nil
}

// StreamCh implements memberlist.Transport.
func (t *FaultTransport) StreamCh() <-chan net.Conn { return t.inner.StreamCh() }

// Shutdown implements memberlist.Transport.
func (t *FaultTransport) Shutdown() error { return t.inner.Shutdown() }

// faultConn is a dialed stream that breaks when its path is cut.
type faultConn struct {
	net.Conn
	net      *FaultNet
	from, to string
}

func (c *faultConn) check() error {
	if c.net.Reachable(c.from, c.to) {
		return nil
	}
	c.net.cut.Add(1)
	_ = c.Conn.Close()
	return fmt.Errorf("%w: stream %s -> %s cut", ErrPartitioned, c.from, c.to)
}

// Read implements net.Conn.
func (c *faultConn) Read(b []byte) (int, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// Write implements net.Conn.
func (c *faultConn) Write(b []byte) (int, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
