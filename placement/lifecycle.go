package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/node"
)

// The life of an entry on this node, apart from handoffs (push.go,
// accept.go): started fresh, or after pulling from previous owners;
// activated (its buffer delivered in order); removed when its process
// exits.

// startFresh starts a starting entry's process: for a kind without
// replication at once, on the new process's own goroutine
// (spawnFreshAsync); for a replicated kind on a tracked goroutine, which
// first asks the key's backups for a copy to promote (spawnFresh). false
// once shutdown began.
func (c *Cluster) startFresh(e *entry) bool {
	if e.replState() != nil {
		return c.goTracked(func() { c.spawnFresh(e) })
	}
	return c.spawnFreshAsync(e)
}

// spawnFreshAsync starts e's process with node.SpawnAsync: once Init
// ended, the process itself records its PID in e and delivers what e
// buffered, before it handles anything, so the first request costs one
// goroutine switch, not three (no spawner goroutine waiting for Init).
// An Init still running after HandoffTimeout fails what waits, as
// Spawn's deadline does in spawnFresh; the process exits when it ends.
// false once shutdown began.
func (c *Cluster) spawnFreshAsync(e *entry) bool {
	const waiting, started, gaveUp = 0, 1, 2
	var st atomic.Int32
	timer := time.AfterFunc(c.cfg.HandoffTimeout, func() {
		if st.CompareAndSwap(waiting, gaveUp) {
			c.startFailed(e, fmt.Errorf("%w: %w: Init did not end within %v", ErrStart, node.ErrTimeout, c.cfg.HandoffTimeout))
		}
	})
	err := c.node.SpawnAsync(e.id.Kind, []byte(e.id.Key), node.SpawnOpts{}, func(pid node.PID, err error) bool {
		if !st.CompareAndSwap(waiting, started) {
			return false
		}
		timer.Stop()
		if err != nil {
			c.startFailed(e, fmt.Errorf("%w: %w", ErrStart, err))
			return false
		}
		c.stats.spawned.Add(1)
		c.adopt(e, pid)
		c.activate(e, stateStarting)
		return true
	})
	if err != nil && st.CompareAndSwap(waiting, gaveUp) {
		timer.Stop()
		if errors.Is(err, node.ErrShutdown) {
			return false
		}
		c.startFailed(e, fmt.Errorf("%w: %w", ErrStart, err))
	}
	return true
}

// startFailed fails a starting entry whose process did not start.
func (c *Cluster) startFailed(e *entry, err error) {
	c.warnKey("start-failed", "keyed process did not start", e.id, "", err)
	c.dropEntry(e, err)
}

// spawnFresh starts the process of a starting entry and activates it:
// fresh, or, for a replicated kind of which a backup copy exists here or
// on the key's backups, promoted from the newest copy (its term + 1).
func (c *Cluster) spawnFresh(e *entry) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	defer cancel()
	opts, live := c.promotion(ctx, e)
	if live != "" {
		if c.toPulling(e, live) {
			c.pull(e, c.pullCandidates(e.id, time.Now()))
		}
		return // or the entry is no longer starting: someone else took it over
	}
	pid, err := c.node.Spawn(ctx, e.id.Kind, []byte(e.id.Key), opts)
	if errors.Is(err, errStale) {
		// The copy it started from was superseded meanwhile (its first
		// replication was refused; the holder is hinted): route what
		// waited again, to the newer copy.
		c.reroute(e, func(st entryState, _ node.PID) bool { return st == stateStarting })
		return
	}
	if err != nil {
		c.startFailed(e, fmt.Errorf("%w: %w", ErrStart, err))
		return
	}
	if opts.HasState {
		c.stats.promotions.Add(1)
	} else {
		c.stats.spawned.Add(1)
	}
	c.adopt(e, pid)
	c.activate(e, stateStarting)
}

// promotion returns the spawn options that start e from the newest backup
// copy of its key (a replicated kind whose primary is gone), or none (a
// fresh start). If that copy's primary is alive and was not asked yet, it
// returns its name instead: the key may still run there, and a promotion
// beside a live primary would take the writes it acknowledges after the
// copy was made from nobody (its backups are not necessarily ours).
func (c *Cluster) promotion(ctx context.Context, e *entry) (node.SpawnOpts, string) {
	rep := e.replState()
	if rep == nil {
		return node.SpawnOpts{}, ""
	}
	if s := c.snap.Load(); c.cfg.Quorum && !s.quorum {
		return node.SpawnOpts{}, "" // no promotion without a majority (routing refuses anyway)
	}
	best, ok := c.fetchCopies(ctx, e.id, c.cfg.specFor(e.id.Kind))
	if !ok {
		return node.SpawnOpts{}, ""
	}
	e.mu.Lock()
	asked := e.askedPrimary
	e.mu.Unlock()
	if p := best.primary; p != "" && p != c.self && p != asked && c.snap.Load().isAlive(p) {
		return node.SpawnOpts{}, p
	}
	rep.mu.Lock()
	rep.term, rep.seq = best.term+1, best.seq
	rep.mu.Unlock()
	c.log.Info().Str("kind", e.id.Kind).Str("key", e.id.Key).Uint64("term", best.term+1).Str("from", best.primary).
		Msg("promoted a backup copy: its primary is gone")
	return node.SpawnOpts{State: best.state, HasState: best.exported}, ""
}

// toPulling turns starting e into pulling from the live primary p (once
// per primary): true if it did.
func (c *Cluster) toPulling(e *entry, p string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarting || e.askedPrimary == p {
		return false
	}
	e.askedPrimary, e.state, e.since = p, statePulling, time.Now()
	c.hints.set(e.id, p, time.Now().Add(c.cfg.PullWindow))
	return true
}

// pullCandidates lists the members that may host id although this node
// owns it: the previous owners (snapshot.candidates), and first the holder
// of a newer copy if one is known (hints).
func (c *Cluster) pullCandidates(id keyID, now time.Time) []string {
	cands := c.snap.Load().candidates(c.self, id.Key, now)
	if h := c.hints.get(id, now); h != "" && h != c.self && !slices.Contains(cands, h) {
		cands = append([]string{h}, cands...)
	}
	return cands
}

// adopt records pid as e's process and watches it. The process is
// registered before it is monitored, so that its DOWN, however soon it
// comes, finds e.
func (c *Cluster) adopt(e *entry, pid node.PID) {
	c.reg.setPID(e, pid)
	e.mu.Lock()
	e.pid, e.exited = pid, false
	e.mu.Unlock()
	c.watch.Monitor(pid)
}

// activate delivers e's buffer in order, then makes e active, if e is in
// state expect (only one activation runs: the entry is flushing
// meanwhile, and requests that arrive then join the buffer, so none
// overtakes an older one). If the key is no longer ours, it is queued for
// a push.
func (c *Cluster) activate(e *entry, expect entryState) {
	e.mu.Lock()
	if e.state != expect {
		e.mu.Unlock()
		return
	}
	e.state = stateFlushing
	e.mu.Unlock()
	for {
		e.mu.Lock()
		if e.state == stateGone {
			e.mu.Unlock()
			return
		}
		if e.exited {
			// The process died before the entry could serve it: remove
			// the entry and route what waited afresh (a new start, or a
			// pull from the holder of a newer copy).
			e.mu.Unlock()
			c.reroute(e, func(st entryState, _ node.PID) bool { return st == stateFlushing })
			return
		}
		buf, pid := e.buf, e.pid
		e.buf = nil
		if len(buf) == 0 {
			e.state, e.since = stateActive, time.Now()
			e.mu.Unlock()
			break
		}
		e.mu.Unlock()
		for _, p := range buf {
			c.deliver(pid, p.req, p.deadline, p.reply)
		}
	}
	c.requeueIfMoved(e)
}

// requeueIfMoved queues e for a push when the view gives its key to another
// node — unless the cluster is shutting down, or a push of it failed less
// than HandoffTimeout ago: that key waits for the reconcile loop, which
// applies the same back-off, so a push that fails at once (an ExportState
// error, an unreachable owner) is not retried in a busy loop.
func (c *Cluster) requeueIfMoved(e *entry) {
	if c.ctx.Err() != nil || c.snap.Load().owner(e.id.Key) == c.self {
		return
	}
	e.mu.Lock()
	recent := time.Since(e.failedAt) < c.cfg.HandoffTimeout
	e.mu.Unlock()
	if !recent {
		c.queue.add(e.id)
	}
}

// dropEntry removes e and fails what it buffered with err.
func (c *Cluster) dropEntry(e *entry, err error) {
	e.mu.Lock()
	buf, pid := e.buf, e.pid
	e.buf, e.state = nil, stateGone
	e.mu.Unlock()
	c.reg.remove(e, pid)
	for _, p := range buf {
		c.fail(p.req, p.reply, err)
	}
}

// reroute removes e, if its state satisfies cond, and routes what it
// buffered afresh (to a new entry or to another node). false if cond did
// not hold.
func (c *Cluster) reroute(e *entry, cond func(st entryState, pid node.PID) bool) bool {
	e.mu.Lock()
	if !cond(e.state, e.pid) {
		e.mu.Unlock()
		return false
	}
	buf, pid := e.buf, e.pid
	e.buf, e.state = nil, stateGone
	e.mu.Unlock()
	c.reg.remove(e, pid)
	for _, p := range buf {
		c.route(p.req, p.deadline, p.reply)
	}
	return true
}

// pull asks the previous owners in cands whether one of them hosts e's key,
// until one pushes it here (the entry then leaves statePulling), all say
// they do not (the process starts fresh), or HandoffTimeout passes (fresh
// too, with an EventHandoffFailed).
func (c *Cluster) pull(e *entry, cands []string) {
	deadline := time.Now().Add(c.cfg.HandoffTimeout)
	backoff := 2 * time.Millisecond
	for e.is(statePulling) {
		if c.snap.Load().owner(e.id.Key) != c.self {
			// The view moved on (this node drains, or lost the key):
			// let the new owner deal with what waited here.
			c.reroute(e, func(st entryState, _ node.PID) bool { return st == statePulling })
			return
		}
		if c.pullRound(e, cands, deadline) {
			c.startAfterPull(e, nil)
			return
		}
		if !time.Now().Before(deadline) {
			c.startAfterPull(e, fmt.Errorf("%w: no answer from previous owners %v", ErrBusy, cands))
			return
		}
		if !c.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, 50*time.Millisecond)
		if cands = c.pullCandidates(e.id, time.Now()); len(cands) == 0 {
			c.startAfterPull(e, nil)
			return
		}
	}
}

// pullRound asks every candidate once; true if each answered that it does
// not host the key, or is no longer alive.
func (c *Cluster) pullRound(e *entry, cands []string, deadline time.Time) bool {
	c.stats.pulls.Add(1)
	msg := handoffMsg{op: hoPull, checksum: c.snap.Load().view.Checksum, kind: e.id.Kind, key: e.id.Key}
	none := true
	for _, cand := range cands {
		ctx, cancel := context.WithDeadline(c.ctx, deadline)
		resp, err := c.node.Call(ctx, node.Named{Name: handoffService, Node: cand}, msg.encode())
		cancel()
		if err != nil {
			// A live candidate that did not answer may still run the key:
			// starting it here meanwhile would fork it (asked again next
			// round, until the deadline). A gone one cannot push.
			none = none && !c.snap.Load().isAlive(cand)
			continue
		}
		if len(resp) == 0 || resp[0] == hsNone {
			continue
		}
		none = false
	}
	return none
}

// startAfterPull starts e fresh if it is still pulling; failed (non-nil)
// is reported as a failed handoff first.
func (c *Cluster) startAfterPull(e *entry, failed error) {
	e.mu.Lock()
	ok := e.state == statePulling
	if ok {
		e.state = stateStarting
	}
	e.mu.Unlock()
	if !ok {
		return
	}
	if failed != nil {
		c.stats.hoFailed.Add(1)
		c.emit(Event{Type: EventHandoffFailed, Kind: e.id.Kind, Key: e.id.Key, To: c.self, Err: failed})
	}
	if e.replState() != nil {
		c.spawnFresh(e) // on this goroutine: it may ask the backups first
		return
	}
	if !c.spawnFreshAsync(e) {
		c.dropEntry(e, ErrShutdown)
	}
}

// sleep waits d; false if the cluster shut down first.
func (c *Cluster) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// watchLoop receives the DOWN of every keyed process until shutdown.
func (c *Cluster) watchLoop() {
	for {
		m, err := c.watch.Receive(c.ctx)
		if err != nil {
			return
		}
		if d, ok := m.(node.Down); ok {
			c.onDown(d)
		}
	}
}

// onDown removes the entry of a process that exited by itself (not by a
// handoff): the next request for its key starts a new one.
func (c *Cluster) onDown(d node.Down) {
	if d.Reason.Kind == node.Handoff {
		return
	}
	e := c.reg.byProcess(d.PID)
	if e == nil {
		return
	}
	exited := c.reroute(e, func(st entryState, pid node.PID) bool {
		return pid == d.PID && (st == stateActive || st == stateImporting || st == stateFlushing)
	})
	if !exited {
		// Starting or moving: the activation to come removes it.
		e.mu.Lock()
		if e.pid == d.PID && e.state != stateGone {
			e.exited = true
		}
		e.mu.Unlock()
	}
	if exited && e.replState() != nil && e.replState().staleHolder() == "" {
		c.dropBackups(e) // it ended by itself: its copies must not come back
	}
	if exited {
		c.log.Debug().Str("kind", e.id.Kind).Str("key", e.id.Key).Str("reason", d.Reason.String()).Msg("keyed process exited")
	}
}
