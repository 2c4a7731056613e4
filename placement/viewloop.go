package placement

import (
	"slices"
	"time"

	"github.com/placerhq/placer/placement/membership"
)

// viewLoop turns membership Views into ownership views until shutdown.
// It also re-applies the latest View once the first join succeeds, since
// the quorum verdict depends on it.
func (c *Cluster) viewLoop(views <-chan membership.View) {
	joined := c.mem.Joined()
	for {
		select {
		case v, ok := <-views:
			if !ok {
				return
			}
			c.applyMembership(v)
		case <-joined:
			joined = nil
			c.applyMembership(c.mem.View())
		case <-c.ctx.Done():
			return
		}
	}
}

// applyMembership records the members' transport addresses and applies
// the view they give.
func (c *Cluster) applyMembership(v membership.View) {
	for _, m := range v.Members {
		if m.TransportAddr != "" && m.Name != c.self {
			c.node.SetAddr(m.Name, m.TransportAddr)
		}
	}
	in := viewInput{quorum: c.quorumOK(v.Quorum)}
	for _, m := range c.ownable(v) {
		in.alive = append(in.alive, memberInfo{
			name: m.Name, addr: m.TransportAddr, weight: m.Weight,
			draining: m.Tags[tagDraining] == "1", proto: m.ProtocolVersion, strategy: m.Tags[tagStrategy],
		})
	}
	c.applyInput(in)
	// After the view without them is in place: the calls that fail then
	// are routed again to the keys' new owners (retryable: the view
	// changed since they were sent).
	c.dropFailed(v)
}

// dropFailed closes the transport connection to each member the view
// newly lists as failed, as Erlang's nodedown does: calls in flight to it
// then fail at once with node.ErrNoConnection (a routed request goes again
// to the key's new owner, the view having changed) and its processes'
// monitors fire, instead of waiting until the connection's own heartbeat
// gives up (transport.Config.HeartbeatTimeout, 2 s), long after Serf
// declared the failure. A member that is in fact alive (a pause, a cut
// that gossip saw first) loses only what was in flight: the next send
// connects again.
func (c *Cluster) dropFailed(v membership.View) {
	c.failedMu.Lock()
	var fresh []string
	now := make(map[string]bool)
	for _, m := range v.Members {
		if m.Status != membership.StatusFailed || m.Name == c.self {
			continue
		}
		now[m.Name] = true
		if !c.failed[m.Name] {
			fresh = append(fresh, m.Name)
		}
	}
	c.failed = now
	c.failedMu.Unlock()
	for _, name := range fresh {
		c.log.Debug().Str("member", name).Msg("member failed: closing the connection to it")
		c.goTracked(func() { c.node.Disconnect(name) })
	}
}

// quorumOK applies the quorum-mode rule to a membership verdict.
func (c *Cluster) quorumOK(q membership.Quorum) bool {
	if !c.cfg.Quorum {
		return true
	}
	if !q.Majority {
		return false
	}
	if c.cfg.QuorumSize > 0 {
		return len(q.Full) >= c.cfg.QuorumSize
	}
	if len(c.cfg.Membership.Join) == 0 {
		return true
	}
	select {
	case <-c.mem.Joined():
		return true
	default:
		return false
	}
}

// applyInput installs the view for in; if the ring changed, it plans the
// moves of the keys hosted here and queues them for the push workers.
func (c *Cluster) applyInput(in viewInput) {
	c.viewMu.Lock()
	cur := c.snap.Load()
	next, changed, err := nextSnapshot(cur, in, c.self, c.draining.Load(), c.spec, time.Now(), c.cfg.PullWindow)
	if err != nil {
		c.viewMu.Unlock()
		c.log.Error().Err(err).Msg("cannot build the ring; keeping the previous view")
		return
	}
	c.lastIn = in
	c.snap.Store(next)
	c.viewMu.Unlock()
	c.logExcluded(cur.view, next.view, in)
	if !changed {
		return
	}
	c.stats.viewChanges.Add(1)
	moves := planDiff(c.self, c.reg.movable(), cur.view.ring, next.view.ring)
	c.log.Info().Uint64("epoch", next.view.Epoch).Int("members", len(next.view.Members)).
		Strs("draining", next.view.Draining).Int("moves", len(moves)).Msg("view changed")
	c.emit(Event{
		Type: EventViewChanged, Epoch: next.view.Epoch, Checksum: next.view.Checksum,
		Members: len(next.view.Members), Moves: len(moves),
	})
	for _, m := range moves {
		c.queue.add(m.ID)
	}
	c.goTracked(func() { c.resync(cur.view) })
}

// reconcileLoop runs a full plan every ReconcileInterval: it retries
// handoffs that failed (each at most once per HandoffTimeout, so that a
// new owner that cannot be reached does not keep the key frozen), pushes
// keys that became active on a non-owner, and ends imports whose finish
// never came.
func (c *Cluster) reconcileLoop() {
	t := time.NewTicker(c.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.reconcile(time.Now())
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *Cluster) reconcile(now time.Time) {
	c.passivateIdle(now)
	c.gcReplicas(now)
	c.hints.expire(now)
	s := c.snap.Load()
	for _, m := range planFull(c.self, c.reg.reconcilable(now, c.cfg.HandoffTimeout), s.view.ring) {
		c.queue.add(m.ID)
	}
	for _, e := range c.reg.entries() {
		e.mu.Lock()
		stale := e.state == stateImporting && !e.pid.IsZero() && now.Sub(e.since) > c.cfg.HandoffTimeout
		e.mu.Unlock()
		if stale {
			c.warnKey("finish-missing", "handoff finish never came; activating", e.id, "", nil)
			c.activate(e, stateImporting)
		}
	}
}

// logExcluded reports the members a view change left out of the ring for
// another strategy: a warning per member newly excluded, an error when it
// is this node (it then owns no keys).
func (c *Cluster) logExcluded(prev, next *View, in viewInput) {
	for _, name := range next.Excluded {
		if slices.Contains(prev.Excluded, name) {
			continue
		}
		spec := c.spec
		if i := slices.IndexFunc(in.alive, func(m memberInfo) bool { return m.name == name }); i >= 0 && in.alive[i].strategy != "" {
			spec = in.alive[i].strategy
		}
		if name == c.self {
			c.log.Error().Str("strategy", spec).Str("cluster_strategy", next.Strategy).
				Msg("this node's placement strategy disagrees with most members: it owns no keys (set the same Strategy, VNodes, LoadFactor, PartitionBits everywhere)")
			continue
		}
		c.log.Warn().Str("member", name).Str("strategy", spec).Str("cluster_strategy", next.Strategy).
			Msg("member left out of the ring: its placement strategy disagrees with most members")
	}
}
