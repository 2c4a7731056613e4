package pg

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/node"
)

// Scope is one node's instance of a group namespace (pg's scope process):
// it holds the members of this node's processes, learns the other visible
// nodes' members from their instances of the same scope, and answers
// Members from a local copy without any network round trip. All methods
// are safe for concurrent use.
type Scope struct {
	n     *node.Node
	cfg   Config
	svc   string // the service name on every node
	log   zerolog.Logger
	watch *node.Inbox // monitors local members and nodes; its PID speaks for the scope
	self  node.PID    // watch's PID: the From of every message this scope sends

	groups sync.Map // group name -> *groupView: the lock-free read side

	mu     sync.Mutex // guards core, refs, subs, out and closed
	core   core
	refs   map[node.PID]node.Ref // monitors of local members
	subs   subscribers
	out    []outMsg // messages for the sender goroutine, in order
	closed bool

	// evMu orders event delivery: a step takes it before it releases mu
	// and delivers its events under it, so subscribers see events in the
	// order of the changes, without mu held while they are offered.
	evMu sync.Mutex

	kick      chan struct{} // capacity 1: out has messages
	ctx       context.Context
	cancel    context.CancelFunc
	stopped   chan struct{} // closed when the scope stopped (sender drains, then ends)
	stopOnce  sync.Once
	closeOnce sync.Once
	gos       goset.Set // the receive loop and the sender
	stats     counters
}

// counters are the scope's statistics (see Stats).
type counters struct {
	received, sent, bad, ignored, sendErrors atomic.Uint64
}

// Start starts the scope cfg.Scope on n: it registers the scope's service
// (ServiceName), subscribes to n's visible node events, and discovers the
// scope on every visible node. Its goroutines end at Close or when n
// shuts down.
func Start(n *node.Node, cfg Config) (*Scope, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: no node", ErrBadConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	watch, err := n.NewInbox()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	s := newScope(n, cfg, watch)
	if err := n.RegisterService(s.svc, node.ServiceFuncs{Cast: s.onCast, Call: s.onCall}); err != nil {
		watch.Close()
		s.cancel()
		return nil, fmt.Errorf("pg: scope %q: %w", cfg.Scope, err)
	}
	watch.MonitorNodes(true, false) // visible nodes only, as pg
	s.gos.Go(s.loop)
	s.gos.Go(s.sendLoop)
	for _, peer := range n.Nodes(node.NodesVisible) {
		_, _ = s.step(func(c *core) effects { return c.nodeUp(peer) })
	}
	s.log.Debug().Msg("scope started")
	return s, nil
}

func newScope(n *node.Node, cfg Config, watch *node.Inbox) *Scope {
	s := &Scope{
		n: n, cfg: cfg, svc: ServiceName(cfg.Scope), watch: watch, self: watch.Self(),
		log:  cfg.Logger.With().Str("component", "pg").Str("scope", cfg.Scope).Str("node", n.Self()).Logger(),
		core: newCore(n.Self()), refs: map[node.PID]node.Ref{},
		subs: subscribers{scope: map[*subscriber]struct{}{}, group: map[string]map[*subscriber]struct{}{}},
		kick: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Name returns the scope's name.
func (s *Scope) Name() string { return s.cfg.Scope }

// Node returns the node the scope runs on.
func (s *Scope) Node() *node.Node { return s.n }

// step runs f on the core under mu and carries out its effects: monitors,
// views and outgoing messages under mu (so that state, views and the order
// of messages agree), then the events, in order, under evMu.
func (s *Scope) step(f func(c *core) effects) (effects, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return effects{}, fmt.Errorf("%w: %s", ErrClosed, s.cfg.Scope)
	}
	fx := f(&s.core)
	s.commitLocked(fx)
	ds := s.subs.route(fx.events)
	s.evMu.Lock()
	s.mu.Unlock()
	for _, d := range ds {
		d.to.Offer(d.ev)
	}
	s.evMu.Unlock()
	return fx, nil
}

func (s *Scope) commitLocked(fx effects) {
	for _, p := range fx.watch {
		s.refs[p] = s.watch.Monitor(p) // local: sends no frame
	}
	for _, p := range fx.unwatch {
		s.watch.Demonitor(s.refs[p])
		delete(s.refs, p)
	}
	s.applyViewsLocked(fx.events)
	if fx.ignored {
		s.stats.ignored.Add(1)
	}
	if len(fx.out) == 0 {
		return
	}
	s.out = append(s.out, fx.out...)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// onCast receives a message from a peer scope, inline on the transport
// reader: it decodes, takes mu briefly and never blocks.
func (s *Scope) onCast(from node.PID, payload []byte) {
	s.stats.received.Add(1)
	m, err := decodeMessage(payload, from)
	if err != nil {
		s.stats.bad.Add(1)
		s.log.Debug().Str("from", from.String()).Err(err).Msg("bad message dropped")
		return
	}
	visible := false
	if m.op == opDiscover || m.op == opSync {
		visible = slices.Contains(s.n.Nodes(node.NodesVisible), from.Node)
	}
	_, _ = s.step(func(c *core) effects { return c.receive(from, m, visible) })
}

// loop handles the watch inbox: exits of local members and node events.
// It ends at Close, or when the node closes the inbox at shutdown.
func (s *Scope) loop() {
	defer s.stop()
	for {
		m, err := s.watch.Receive(s.ctx)
		if err != nil {
			return
		}
		s.handle(m)
	}
}

func (s *Scope) handle(m node.Msg) {
	var f func(c *core) effects
	switch m := m.(type) {
	case node.Down:
		f = func(c *core) effects { return s.downLocked(c, m) }
	case node.NodeUp:
		f = func(c *core) effects { return c.nodeUp(m.Node) }
	case node.NodeDown:
		f = func(c *core) effects { return c.nodeDown(m.Node) }
	case node.Call: // to the watch inbox: calls go to the service
		m.Reply(nil, fmt.Errorf("%w: call the scope's service %s", node.ErrBadArg, s.svc))
		return
	default:
		return
	}
	_, _ = s.step(f)
}

// downLocked: a monitored local member exited (a Down of an older monitor
// of the same process is ignored).
func (s *Scope) downLocked(c *core, d node.Down) effects {
	if ref, ok := s.refs[d.PID]; !ok || ref != d.Ref {
		return effects{}
	}
	delete(s.refs, d.PID)
	return c.localDown(d.PID)
}

// sendLoop sends the queued messages in order; after the scope stopped it
// sends what is left (the goodbyes) and ends.
func (s *Scope) sendLoop() {
	for {
		select {
		case <-s.kick:
			s.flush()
		case <-s.stopped:
			s.flush()
			return
		}
	}
}

func (s *Scope) flush() {
	s.mu.Lock()
	batch := s.out
	s.out = nil
	s.mu.Unlock()
	for _, o := range batch {
		s.send(o)
	}
}

// send sends one message, split to fit MaxMessageSize. Like pg's
// noconnect sends, it does not connect to a node that is not connected: a
// node that connects later gets a full sync instead.
func (s *Scope) send(o outMsg) {
	if !s.n.IsConnected(o.to) {
		return
	}
	if o.m.enc == nil {
		o.m.enc = encodeChunks(o.m.msg, s.cfg.MaxMessageSize)
	}
	for _, b := range o.m.enc {
		if err := s.n.SendFrom(s.self, node.Named{Name: s.svc, Node: o.to}, b); err != nil {
			s.stats.sendErrors.Add(1)
			s.log.Debug().Str("peer", o.to).Err(err).Msg("send failed; the peer resyncs when it reconnects")
			return
		}
		s.stats.sent.Add(1)
	}
}

// Close stops the scope: its peers are told to forget its members, its
// service is unregistered, subscriptions are closed, and its goroutines
// have ended when Close returns. Idempotent; also safe after the node
// shut down.
func (s *Scope) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		if !s.closed {
			s.out = append(s.out, s.core.closing().out...)
			s.closed = true
		}
		s.mu.Unlock()
		s.cancel()
	})
	s.gos.Close()
	return nil
}

// stop ends the scope once its receive loop ended (Close, or the node shut
// down): no more steps, no more service, no views, subscriptions closed;
// the sender drains and ends.
func (s *Scope) stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		subs := s.subs.takeAll()
		s.groups.Clear()
		s.mu.Unlock()
		s.n.UnregisterService(s.svc)
		s.watch.Close()
		close(s.stopped)
		for _, sub := range subs {
			sub.Close()
		}
		s.log.Debug().Msg("scope stopped")
	})
}
