package global

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// Service is one node's part of the global names and locks: it hosts the
// authorities of the ids its node owns (as keyed processes of KindName and
// KindLock), keeps the node's replica of every name (WhereisName reads it),
// disseminates what its authorities decide, claims what it knows to the
// authorities after view changes, and offers the API. All methods are safe
// for concurrent use.
//
// Lifecycle: New, then Configure on the placement.Config (it adds the
// kinds), placement.Start, then Start with the cluster. Its goroutines (the
// inbox loop, the sender, the sync ticker and short connect attempts) end
// at Close or when the node shuts down (Close still waits for them). A
// Service starts once.
type Service struct {
	cfg    Config
	log    zerolog.Logger
	clock  clock
	tab    table
	reqSeq atomic.Uint64

	cluster atomic.Pointer[placement.Cluster] // nil until Start
	watch   *node.Inbox                       // set by Start: node events, holders of local locks
	self    node.PID                          // watch's PID: the From of every message sent
	name    string                            // the node's name

	mu        sync.Mutex // guards out, held, heldRefs, auths, locks, pending, told, closed; taken before tab.mu
	out       []outMsg
	held      map[string]heldLock   // locks held by this node's processes, by id
	heldRefs  map[node.PID]node.Ref // watch's monitors of those holders
	auths     map[string]node.PID   // name authorities alive here, by name
	locks     map[string]LockInfo   // lock authorities alive here, their last state
	pending   []record              // registrations of local processes to claim (replaced in the replica)
	told      map[toldKey]struct{}  // local losers of a name told at a heal (tellLoser)
	toldOrder []toldAt              // told, oldest first, to forget after TombstoneTTL
	closed    bool

	kick, nudge chan struct{} // capacity 1: out has messages; a claim round is due
	ctx         context.Context
	cancel      context.CancelFunc
	startOnce   sync.Once
	gos         goset.Set // the service's goroutines
	stats       counters

	mismatch   sync.Map // peer -> true: its last digest differed (checkDigest)
	connecting sync.Map // peer -> true: a connect attempt runs
}

// heldLock is a lock held by a process of this node, as its grant said.
type heldLock struct {
	holder    node.PID
	token     uint64
	count     int
	authority string // the owner of the id when it was granted or claimed ("" : claim due)
}

// outMsg is a message for the sender goroutine, for every node of to.
type outMsg struct {
	to []string
	m  svcMsg
}

// New returns a Service for cfg (copied). It starts nothing: call
// Configure and Start.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger.With().Str("component", "global").Logger(), tab: newTable(),
		held: map[string]heldLock{}, heldRefs: map[node.PID]node.Ref{}, auths: map[string]node.PID{},
		locks: map[string]LockInfo{}, told: map[toldKey]struct{}{}, kick: make(chan struct{}, 1), nudge: make(chan struct{}, 1),
	}
	s.clock.wall = cfg.Clock
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Configure adds the authority kinds (KindName, KindLock) to pc.Kinds and
// the lock session kind to pc.Node.Kinds; chains pc.Events so that a view
// change starts a claim round at once, and pc.Conflict so that when
// placement finds an authority running twice (a heal, or views that
// disagreed for a moment) the losing copy's state is claimed to the
// winning one instead of dropped (other kinds' conflicts go on to the
// callback that was set). Call it before placement.Start, on every node
// (every node must register the same kinds). It copies the maps it
// changes.
func (s *Service) Configure(pc *placement.Config) {
	pc.Kinds = withKinds(pc.Kinds, map[string]node.KindFactory{KindName: s.newNameProc, KindLock: s.newLockProc})
	pc.Node.Kinds = withKinds(pc.Node.Kinds, map[string]node.KindFactory{KindLockSession: s.newSession})
	userConflict := pc.Conflict
	pc.Conflict = func(cf placement.Conflict) {
		if !s.foldConflict(cf) && userConflict != nil {
			userConflict(cf)
		}
	}
	next := pc.Events
	pc.Events = func(ev placement.Event) {
		if ev.Type == placement.EventViewChanged {
			s.nudgeClaims()
		}
		if next != nil {
			next(ev)
		}
	}
}

func withKinds(m, add map[string]node.KindFactory) map[string]node.KindFactory {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]node.KindFactory{}
	}
	maps.Copy(out, add)
	return out
}

// Start attaches the service to its cluster node (whose config went
// through Configure): it registers the service ServiceName and the admin
// rpc functions, watches node events, sends every visible node the names
// this node owns and starts its goroutines.
func (s *Service) Start(c *placement.Cluster) error {
	if c == nil || !slices.Contains(c.Node().Kinds(), KindName) || !slices.Contains(c.Node().Kinds(), KindLock) {
		return fmt.Errorf("%w: the cluster's config did not go through Configure", ErrBadConfig)
	}
	err := fmt.Errorf("%w: Start called twice", ErrBadConfig)
	s.startOnce.Do(func() { err = s.start(c) })
	return err
}

func (s *Service) start(c *placement.Cluster) error {
	n := c.Node()
	watch, err := n.NewInbox()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotStarted, err)
	}
	s.watch, s.self, s.name = watch, watch.Self(), n.Self() // read by others only after cluster.Store
	if err := n.RegisterService(ServiceName, node.ServiceFuncs{Cast: s.onCast, Call: s.onCall}); err != nil {
		watch.Close()
		return fmt.Errorf("global: %w", err)
	}
	if err := s.registerRPCs(n); err != nil {
		n.UnregisterService(ServiceName)
		watch.Close()
		return err
	}
	s.cluster.Store(c)
	watch.MonitorNodes(true, false)
	s.gos.Go(s.loop)
	s.gos.Go(s.sendLoop)
	s.gos.Go(s.tickLoop)
	for _, peer := range n.Nodes(node.NodesVisible) {
		s.nodeUp(peer)
	}
	s.wakeAuthorities(n)
	s.log.Debug().Str("node", s.name).Msg("global names and locks started")
	return nil
}

// Close stops the service: its goroutines end, its node service is
// unregistered (authority processes stop with their node). Idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if c := s.c(); c != nil {
		c.Node().UnregisterService(ServiceName)
		s.watch.Close()
	}
	s.gos.Close() // refuses new goroutines, waits for the started ones
	return nil
}

// c returns the cluster (nil before Start).
func (s *Service) c() *placement.Cluster { return s.cluster.Load() }

// Node returns the cluster node's runtime (nil before Start).
func (s *Service) Node() *node.Node {
	if c := s.c(); c != nil {
		return c.Node()
	}
	return nil
}

// ownerOf returns the owner of id in the current view ("" before Start or
// with an empty view).
func (s *Service) ownerOf(id string) string {
	if c := s.c(); c != nil {
		return c.Owner(id)
	}
	return ""
}

// owns reports whether this node owns id in its current view.
func (s *Service) owns(id string) bool {
	c := s.c()
	return c != nil && c.Owner(id) == s.name
}

// nodeName returns the node's name ("" before Start). Code that may run
// before Start reads the name through it: the name is written before the
// cluster pointer is stored.
func (s *Service) nodeName() string {
	if s.c() == nil {
		return ""
	}
	return s.name
}

// viewYoung reports whether the view changed less than RecoveryWindow ago.
func (s *Service) viewYoung() bool {
	c := s.c()
	return c == nil || time.Since(c.View().Since) < s.cfg.RecoveryWindow
}

// known reports whether node is this node, in its view or connected.
func (s *Service) known(nodeName string) bool {
	c := s.c()
	if c == nil {
		return false
	}
	v := c.View()
	return nodeName == s.name || v.Has(nodeName) || slices.Contains(v.Draining, nodeName) || c.Node().IsConnected(nodeName)
}

// localAlive reports whether pid is a live process of this node.
func (s *Service) localAlive(pid node.PID) bool {
	n := s.Node()
	if n == nil || pid.Node != s.name || pid.ID == 0 {
		return false
	}
	_, err := n.ProcessInfo(pid)
	return err == nil
}

// nudgeClaims asks the tick goroutine for a claim round now.
func (s *Service) nudgeClaims() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// wakeAuthorities sends every name authority that started before the
// service a tick, so that it publishes what it decided meanwhile (before
// Start its node owned nothing in its eyes).
func (s *Service) wakeAuthorities(n *node.Node) {
	s.mu.Lock()
	pids := make([]node.PID, 0, len(s.auths))
	for _, pid := range s.auths {
		pids = append(pids, pid)
	}
	s.mu.Unlock()
	tick := request{op: opTick}.encode()
	for _, pid := range pids {
		_ = n.Send(pid, tick)
	}
}
