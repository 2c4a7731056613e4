package memnet

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/transport"
)

// conn is one connection between two endpoints: two directions, each a
// bounded queue drained by a reader goroutine owned by the receiving
// endpoint.
type conn struct {
	net   *Network
	sides [2]*side
	// done is closed when the connection is torn down; graceful is written
	// before that and read only after it.
	done     chan struct{}
	graceful bool
	faults   atomic.Pointer[Faults] // nil = none
}

// side is one endpoint's half of a conn: the frames it receives and the
// reader that hands them to its Handler.
type side struct {
	c      *conn
	owner  *Endpoint
	other  *side
	peer   transport.PeerInfo // the remote node as seen by owner
	q      chan item          // frames for owner
	reason error              // PeerDown reason for owner; written before c.done closes
	prev   chan struct{}      // exit of owner's previous reader for this peer (nil if none)
	exited chan struct{}      // closed after this reader's PeerDown
}

// item is a frame in flight.
type item struct {
	m  *transport.Message
	at time.Time // earliest delivery (Faults.Delay); zero = at once
}

func (c *conn) sideOf(e *Endpoint) *side {
	if c.sides[0].owner == e {
		return c.sides[0]
	}
	return c.sides[1]
}

func (c *conn) setFaults(f Faults) {
	if f == (Faults{}) {
		c.faults.Store(nil)
		return
	}
	c.faults.Store(&f)
}

// newConnLocked creates a connection between dialer and acceptor, registers
// it and starts both readers. Caller holds Network.mu.
func (n *Network) newConnLocked(dialer, acceptor *Endpoint) *conn {
	c := &conn{net: n, done: make(chan struct{})}
	a := &side{c: c, owner: dialer, peer: acceptor.info(), q: make(chan item, dialer.cfg.QueueLen)}
	b := &side{c: c, owner: acceptor, peer: dialer.info(), q: make(chan item, acceptor.cfg.QueueLen)}
	a.other, b.other = b, a
	c.sides = [2]*side{a, b}
	p := mkpair(dialer.cfg.Name, acceptor.cfg.Name)
	if f, ok := n.faults[p]; ok {
		c.setFaults(f)
	}
	n.conns[p] = c
	for _, s := range c.sides {
		s.register()
	}
	n.log.Debug().Str("dialer", dialer.cfg.Name).Str("acceptor", acceptor.cfg.Name).Msg("connected")
	return c
}

// register records s in its owner and starts its reader. Caller holds
// Network.mu.
func (s *side) register() {
	e := s.owner
	s.exited = make(chan struct{})
	e.mu.Lock()
	e.conns[s.peer.Name] = s
	s.prev = e.lastDone[s.peer.Name]
	e.lastDone[s.peer.Name] = s.exited
	if !e.readers.Go(s.run) {
		close(s.exited) // e closed: Close has torn this connection down
	}
	e.mu.Unlock()
}

// teardownLocked closes c with the given PeerDown reason for each side.
// Caller holds Network.mu.
func (n *Network) teardownLocked(c *conn, reasonA, reasonB error, graceful bool) {
	n.teardownSidesLocked(c, c.sides[0].owner, reasonA, reasonB, graceful)
}

// teardownSidesLocked closes c giving reason mine to e's side and theirs to
// the other side. Idempotent. Caller holds Network.mu.
func (n *Network) teardownSidesLocked(c *conn, e *Endpoint, mine, theirs error, graceful bool) {
	select {
	case <-c.done:
		return
	default:
	}
	s := c.sideOf(e)
	s.reason, s.other.reason = mine, theirs
	c.graceful = graceful
	delete(n.conns, mkpair(s.owner.cfg.Name, s.other.owner.cfg.Name))
	for _, x := range c.sides {
		x.owner.mu.Lock()
		if x.owner.conns[x.peer.Name] == x {
			delete(x.owner.conns, x.peer.Name)
		}
		x.owner.mu.Unlock()
	}
	close(c.done)
}

// send copies m into dst's queue.
func (c *conn) send(ctx context.Context, dst *side, m *transport.Message) error {
	select {
	case <-c.done:
		return fmt.Errorf("%w: %w", transport.ErrNoConnection, transport.ErrConnClosed)
	default:
	}
	it := item{m: copyMessage(m)}
	if f := c.faults.Load(); f != nil {
		if c.net.drop(f.DropRate) {
			return nil
		}
		if f.Delay > 0 {
			it.at = time.Now().Add(f.Delay)
		}
	}
	select {
	case dst.q <- it:
		return nil
	case <-c.done:
		return fmt.Errorf("%w: %w", transport.ErrNoConnection, transport.ErrConnClosed)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", transport.ErrQueueFull, ctx.Err())
	}
}

func copyMessage(m *transport.Message) *transport.Message {
	cp := *m
	if m.Payload != nil {
		cp.Payload = append(make([]byte, 0, len(m.Payload)), m.Payload...)
	}
	return &cp
}

// run is the reader: PeerUp, the frames, PeerDown.
func (s *side) run() {
	defer close(s.exited)
	if s.prev != nil {
		<-s.prev // the previous connection's PeerDown comes first
	}
	h, name := s.owner.h, s.peer.Name
	h.PeerUp(s.peer)
	for s.next(h, name) {
	}
	if s.c.graceful {
		s.drain(h, name)
	}
	h.PeerDown(s.peer, s.reason)
}

// next delivers one frame; false once the connection is down.
func (s *side) next(h transport.Handler, name string) bool {
	select {
	case <-s.c.done:
		return false
	default:
	}
	select {
	case it := <-s.q:
		return s.deliver(h, name, it)
	case <-s.c.done:
		return false
	}
}

// deliver waits out the frame's delay (unless the connection is cut
// meanwhile) and hands it over.
func (s *side) deliver(h transport.Handler, name string, it item) bool {
	if d := time.Until(it.at); !it.at.IsZero() && d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.c.done:
			t.Stop()
			if !s.c.graceful {
				return false
			}
		}
	}
	h.HandleMessage(name, it.m)
	return true
}

// drain delivers what was queued before a graceful close.
func (s *side) drain(h transport.Handler, name string) {
	for {
		select {
		case it := <-s.q:
			h.HandleMessage(name, it.m)
		default:
			return
		}
	}
}
