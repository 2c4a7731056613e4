package placement

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/internal/ratelog"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/ring"
)

// Cluster is this process's node of a placer cluster: a node runtime, its
// Serf membership, the ownership view built from it, the keyed processes
// it hosts and the router that sends requests for a key to its owner. All
// methods are safe for concurrent use.
//
// Goroutines: the view loop (membership Views → ownership views), the
// reconcile loop, the process watcher, MigrationBudget push workers, the
// event dispatcher, and one short-lived goroutine per key being started or
// pulled. Close ends all of them.
type Cluster struct {
	cfg     Config
	log     zerolog.Logger
	warns   *ratelog.Logger // per-key warnings (conflicts, superseded copies): one line per kind per second, counted
	node    *node.Node
	mem     *membership.Membership // nil in static mode
	self    string
	selfPID node.PID // the node's own identity: From of every route and handoff frame we send
	kinds   map[string]bool
	spec    string          // this node's strategy spec (strategySpec's text form)
	mergers map[string]bool // kinds that implement Merger
	// passivates is set when a kind has an IdleTimeout or a MaxLive.
	passivates bool

	snap     atomic.Pointer[snapshot]
	draining atomic.Bool
	viewMu   sync.Mutex // serializes view updates; guards lastIn
	lastIn   viewInput
	// failedMu guards failed: the members the latest membership view
	// lists as failed (dropFailed closes the connection to each once).
	failedMu sync.Mutex
	failed   map[string]bool

	reg      registry
	replicas *replicaStore // backup copies kept here for other nodes' primaries
	hints    *hintStore    // newer copies' holders, after this node's copy was superseded
	watch    *node.Inbox   // monitors every keyed process
	queue    *pushQueue
	events   *eventQueue
	stats    counters
	calls    latency  // keyed calls made here, for the call p99
	hist     *sampler // per-second figures for the dashboard (samples.go)
	watchr   *watcher // streams events to watchers (admin_watch.go)

	ctx       context.Context
	cancel    context.CancelFunc
	gos       goset.Set // every goroutine the cluster starts; stopped by Close
	closeOnce sync.Once
	closeErr  error
}

// Start starts a cluster node: the node runtime on its transport, the Serf
// membership (joining Membership.Join), the router and handoff services.
// It returns once the node has an ownership view, after waiting up to
// JoinTimeout for the first join when Membership.Join is set.
func Start(cfg Config) (*Cluster, error) {
	cfg = cfg.clone()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := newCluster(cfg)
	if err := c.startNode(); err != nil {
		// The gossip transport was handed over with the config: Close
		// would have shut it down, so a failed Start does too.
		if t := cfg.Membership.Transport; t != nil {
			_ = t.Shutdown()
		}
		return nil, err
	}
	if err := c.startMembership(); err != nil {
		c.cancel()
		_ = c.node.Close()
		return nil, err
	}
	c.startLoops()
	c.registerAdmin() // admin rpcs for hidden clients (admin.go)
	return c, nil
}

func newCluster(cfg Config) *Cluster {
	c := &Cluster{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("component", "placement").Str("node", cfg.Name).Logger(),
		kinds:    map[string]bool{},
		reg:      newRegistry(),
		replicas: newReplicaStore(),
		hints:    newHintStore(),
		queue:    newPushQueue(),
		events:   newEventQueue(),
	}
	c.warns = ratelog.New(c.log, time.Second)
	c.mergers = map[string]bool{}
	for k, f := range cfg.Kinds {
		c.kinds[k] = true
		_, c.mergers[k] = f().(Merger)
		spec := cfg.specFor(k)
		c.passivates = c.passivates || spec.IdleTimeout > 0 || spec.MaxLive > 0
	}
	c.watchr = &watcher{c: c, subs: map[node.PID]node.Ref{}, local: map[chan WatchEvent]struct{}{}}
	c.hist = newSampler()
	c.spec = specOf(&c.cfg).String()
	c.snap.Store(emptySnapshot(c.spec))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// startNode creates the node and registers the services.
func (c *Cluster) startNode() error {
	factory := c.cfg.Transport
	if factory == nil {
		factory = c.cfg.tcpTransport(orLogger(c.cfg.Node.Logger, c.cfg.Logger))
	}
	kinds := make(map[string]node.KindFactory, len(c.cfg.Kinds))
	for k, f := range c.cfg.Kinds {
		kinds[k] = c.wrapKind(k, f)
	}
	n, err := node.New(c.cfg.nodeConfig(factory, c.cfg.Logger, kinds))
	if err != nil {
		c.cancel()
		return err
	}
	c.node, c.self = n, n.Self()
	c.selfPID = node.PID{Node: c.self, Creation: n.Creation()}
	err = errors.Join(
		n.RegisterService(routeService, node.ServiceFuncs{Cast: c.onRouteCast, Call: c.onRouteCall}),
		n.RegisterService(handoffService, node.ServiceFuncs{Call: c.onHandoff}),
		n.RegisterService(replService, node.ServiceFuncs{Call: c.onRepl}),
	)
	if err == nil {
		c.watch, err = n.NewInbox()
	}
	if err != nil {
		c.cancel()
		_ = n.Close()
	}
	return err
}

// startMembership starts Serf (unless static) and installs the first view.
func (c *Cluster) startMembership() error {
	if c.cfg.Static {
		return nil // no view (no owner for any key) until SetStaticView
	}
	mem, err := membership.Start(c.cfg.membershipConfig(c.node.Addr(), c.cfg.Logger))
	if err != nil {
		return err
	}
	c.mem = mem
	c.waitJoined()
	c.applyMembership(membership.View{Members: mem.Members(), Alive: mem.Alive(), Quorum: mem.Quorum()})
	return nil
}

// waitJoined waits up to JoinTimeout for the first join, if there is a
// join list.
func (c *Cluster) waitJoined() {
	if len(c.cfg.Membership.Join) == 0 || c.cfg.JoinTimeout < 0 {
		return
	}
	t := time.NewTimer(c.cfg.JoinTimeout)
	defer t.Stop()
	select {
	case <-c.mem.Joined():
	case <-t.C:
		c.log.Warn().Stringer("timeout", c.cfg.JoinTimeout).Msg("not joined yet: owning no keys until a join succeeds")
	}
}

// ownable returns the members of v that may be ring candidates. A node
// given a join list (and not Bootstrap) owns no keys, and so builds no
// ring, until it has joined or someone joined it: a joiner that cannot
// reach its cluster (another cookie, a dead or wrong address) never
// serves keys from a one-node island of its own.
func (c *Cluster) ownable(v membership.View) []membership.Member {
	if len(c.cfg.Membership.Join) == 0 || c.cfg.Bootstrap || len(v.Alive) > 1 {
		return v.Alive
	}
	select {
	case <-c.mem.Joined():
		return v.Alive
	default:
		return nil
	}
}

// startLoops starts the long-lived goroutines.
func (c *Cluster) startLoops() {
	loops := []func(){c.reconcileLoop, c.watchLoop, c.dispatchLoop, c.sampleLoop}
	if c.mem != nil {
		views, cancel := c.mem.Subscribe()
		loops = append(loops, func() { defer cancel(); c.viewLoop(views) })
	}
	for range c.cfg.MigrationBudget {
		loops = append(loops, c.pushWorker)
	}
	for _, f := range loops {
		c.goTracked(f)
	}
}

// goTracked runs f on a tracked goroutine; false once shutdown began.
func (c *Cluster) goTracked(f func()) bool { return c.gos.Go(f) }

// isClosing reports whether shutdown began.
func (c *Cluster) isClosing() bool { return c.ctx.Err() != nil }

// Close stops this node without handing its keys off: the others see it
// fail (Serf marks it failed) and its keys restart fresh on their new
// owners on next use. Use Leave for a graceful exit. Close waits for an
// Events or Conflict callback that is running to return. Idempotent.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.gos.Stop()
		c.cancel()
		var errs []error
		if c.mem != nil {
			errs = append(errs, c.mem.Shutdown())
		}
		c.gos.Wait()
		c.warns.Close()
		errs = append(errs, c.node.Close())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Leave hands every hosted key off to its next owner and leaves the
// cluster: it marks this node draining (gossiped, so every view drops it
// from the ring), waits until nothing is hosted here, leaves Serf
// gracefully and closes the node. With kinds that export their state, no
// state and no message is lost. ctx bounds the drain (Config.DrainTimeout
// if it has no deadline); if it ends first, Leave still leaves and closes,
// and returns an error wrapping ErrDrain.
func (c *Cluster) Leave(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.DrainTimeout)
		defer cancel()
	}
	err := c.Drain(ctx)
	if err == nil {
		c.awaitConvergence(ctx)
	}
	if c.mem != nil {
		if lerr := c.mem.Leave(context.WithoutCancel(ctx)); lerr != nil && err == nil {
			err = lerr
		}
	}
	return errors.Join(err, c.Close())
}

// convergenceWait bounds how long a leaving node waits for every member to
// adopt the view without it.
const convergenceWait = 2 * time.Second

// awaitConvergence waits (at most convergenceWait) until every ring member
// reports this node's view checksum, so that nobody still routes to this
// node when it stops forwarding. A member that does not answer is skipped.
func (c *Cluster) awaitConvergence(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, convergenceWait)
	defer cancel()
	msg := (&handoffMsg{op: hoView}).encode()
	for {
		want, agreed := c.View(), true
		for _, m := range want.Members {
			out, err := c.node.Call(ctx, node.Named{Name: handoffService, Node: m.Name}, msg)
			if err == nil && len(out) == 9 && binary.BigEndian.Uint64(out[1:]) != want.Checksum {
				agreed = false
				break
			}
		}
		if agreed || !c.sleep(20*time.Millisecond) || ctx.Err() != nil {
			return
		}
	}
}

// Drain marks this node draining and waits until it hosts no key (or ctx
// ends: then the error wraps ErrDrain). The node stays a cluster member
// and keeps routing; it just owns nothing. If no other member is left to
// take the keys, Drain returns (they stop with the node): at once if no
// other member is marked failed, else after waiting HandoffTimeout for one
// to come back (a stall or a short partition looks like a failure). Leave
// is Drain, then a graceful Serf leave and Close.
func (c *Cluster) Drain(ctx context.Context) error {
	if c.isClosing() {
		return ErrShutdown
	}
	if c.draining.CompareAndSwap(false, true) {
		c.viewMu.Lock()
		in := c.lastIn
		c.viewMu.Unlock()
		c.applyInput(in) // stop owning at once; pushes succeed as the others learn
		c.announceDraining()
	}
	var alone time.Time // since when no member was there to take the keys
	for {
		n := c.reg.len()
		switch {
		case n == 0:
			return nil
		case c.View().Ring().Len() > 0:
			alone = time.Time{}
		case alone.IsZero() && c.failedPeers():
			// Members marked failed may be alive and back soon (a stall, a
			// short partition): wait for them for a while rather than
			// drop the keys at once.
			alone = time.Now()
			c.log.Warn().Int("keys", n).Stringer("wait", c.cfg.HandoffTimeout).Msg("no member to hand keys to while others are marked failed; waiting for them")
		case alone.IsZero() || time.Since(alone) >= c.cfg.HandoffTimeout:
			c.log.Warn().Int("keys", n).Msg("no other member to hand keys to; they stop with this node")
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := c.reg.waitEmpty(wctx)
		cancel()
		switch {
		case c.isClosing():
			return ErrShutdown
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("%w: %d keys still hosted: %w", ErrDrain, c.reg.len(), ctx.Err())
		}
	}
}

// failedPeers reports whether membership lists another member as failed
// (it may come back).
func (c *Cluster) failedPeers() bool {
	if c.mem == nil {
		return false
	}
	for _, m := range c.mem.Members() {
		if m.Name != c.self && m.Status == membership.StatusFailed {
			return true
		}
	}
	return false
}

// announceDraining gossips the draining tag.
func (c *Cluster) announceDraining() {
	if c.mem == nil {
		return
	}
	if err := c.mem.SetTags(c.cfg.gossipTags(true)); err != nil {
		c.log.Warn().Err(err).Msg("draining tag not broadcast yet")
	}
}

// tagDraining is the membership tag of a node that is handing its keys off.
const tagDraining = "placement.draining"

// SetWeight changes this node's ring weight (1..ring.MaxWeight) and
// gossips it; every view then moves keys to or from this node only.
func (c *Cluster) SetWeight(w int) error {
	if w < 1 || w > ring.MaxWeight {
		return fmt.Errorf("%w: weight %d not in 1..%d", ErrBadConfig, w, ring.MaxWeight)
	}
	if c.mem == nil {
		return fmt.Errorf("%w: no membership", ErrBadConfig)
	}
	return c.mem.SetWeight(w)
}

// Node returns the node runtime, for everything that is not keyed
// (spawning other processes, monitors, rpc).
func (c *Cluster) Node() *node.Node { return c.node }

// Membership returns the Serf membership (nil only in internal tests).
func (c *Cluster) Membership() *membership.Membership { return c.mem }

// Name returns this node's name.
func (c *Cluster) Name() string { return c.self }

// View returns the current ownership view.
func (c *Cluster) View() *View { return c.snap.Load().view }

// Owner returns the owner of key in the current view ("" if the view has
// no members).
func (c *Cluster) Owner(key string) string { return c.snap.Load().owner(key) }

// OwnerN returns up to n distinct members for key in the current view,
// owner first.
func (c *Cluster) OwnerN(key string, n int) []string { return c.View().OwnerN(key, n) }

// Backups lists the backup copies of replicated keys this node keeps for
// their primaries elsewhere (Role RoleBackup, State StateBackup), sorted
// by kind and key.
func (c *Cluster) Backups() []Hosted {
	var out []Hosted
	c.replicas.each(func(id keyID, r replica) {
		out = append(out, Hosted{Kind: id.Kind, Key: id.Key, State: StateBackup, Role: RoleBackup, Term: r.term, Seq: r.seq})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Watch streams this node's events until ctx ends or the node closes:
// what Client.Watch streams from an agent (members up and down, view and
// quorum changes, conflicts), and also every handoff as it starts,
// finishes or fails. A reader that falls 256 events behind loses the
// newest (counted in Stats.EventsDropped); the channel is closed at the
// end.
func (c *Cluster) Watch(ctx context.Context) (<-chan WatchEvent, error) {
	return c.watchr.watchLocal(ctx)
}

// Hosted lists the keyed processes hosted by this node, sorted.
func (c *Cluster) Hosted() []Hosted { return c.reg.hosted() }

// Stats returns the node's placement counters.
func (c *Cluster) Stats() Stats {
	s := c.snap.Load()
	st := Stats{Epoch: s.view.Epoch, Checksum: Checksum(s.view.Checksum), Members: len(s.view.Members), Hosted: c.reg.len(), HandoffsQueued: c.queue.len()}
	st.ReplBackups, st.ReplBackupBytes = c.replicas.len(), c.replicas.bytes()
	st.Passive, st.PassiveBytes = c.reg.cold()
	c.stats.fill(&st)
	return st
}
