package placement

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"time"

	"github.com/placerhq/placer/node"
)

// Passivation (KindSpec.IdleTimeout, MaxLive): an idle keyed process is
// stopped and its exported state kept in its entry (stateCold), where it
// costs only the bytes of the state; it is still the key's copy here (a
// view change moves it, without a process) and the next request starts the
// process from it again, buffering meanwhile.

// passivateIdle passivates the processes idle past their kind's
// IdleTimeout and, per kind with a MaxLive, the least recently used above
// the cap.
func (c *Cluster) passivateIdle(now time.Time) {
	if !c.passivates {
		return
	}
	byKind := map[string][]*entry{}
	for _, e := range c.reg.entries() {
		if e.is(stateActive) {
			byKind[e.id.Kind] = append(byKind[e.id.Kind], e)
		}
	}
	for kind, es := range byKind {
		for _, e := range c.toPassivate(kind, es, now) {
			c.passivate(e)
		}
	}
}

// toPassivate picks the entries of kind to passivate: those idle past
// IdleTimeout, then the least recently used beyond MaxLive.
func (c *Cluster) toPassivate(kind string, es []*entry, now time.Time) []*entry {
	spec := c.cfg.specFor(kind)
	slices.SortFunc(es, func(a, b *entry) int { return int(a.lastUsed.Load() - b.lastUsed.Load()) })
	n := 0
	if spec.IdleTimeout > 0 {
		for n < len(es) && now.Sub(time.Unix(0, es[n].lastUsed.Load())) >= spec.IdleTimeout {
			n++
		}
	}
	if spec.MaxLive > 0 && len(es)-n > spec.MaxLive {
		n = len(es) - spec.MaxLive
	}
	return es[:n]
}

// passivate stops e's process and keeps its exported state in e. It gives
// up (the process keeps running) if a request came meanwhile.
func (c *Cluster) passivate(e *entry) {
	e.mu.Lock()
	if e.state != stateActive {
		e.mu.Unlock()
		return
	}
	pid := e.pid
	e.state, e.since = stateMoving, time.Now() // requests buffer from now on
	e.mu.Unlock()
	for e.inflight.Load() > 0 { // deliveries that saw it active reach the mailbox first
		runtime.Gosched()
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	defer cancel()
	state, exported, err := c.node.Freeze(ctx, pid)
	if err != nil || !exported || !c.coldLocked(e, pid, state) {
		if err == nil {
			_ = c.node.Thaw(pid)
		}
		c.activate(e, stateMoving)
		return
	}
	c.reg.dropPID(e, pid)
	if err := c.node.Stop(ctx, pid, node.Reason{Kind: node.Normal}); err != nil {
		c.warnKey("passivate-stop", "passivated process did not stop", e.id, "", err)
	}
	c.stats.passivated.Add(1)
}

// coldLocked turns e (moving, for pid) cold with state, unless requests
// were buffered meanwhile (then the process serves them instead).
func (c *Cluster) coldLocked(e *entry, pid node.PID, state []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateMoving || e.pid != pid || len(e.buf) > 0 {
		return false
	}
	e.state, e.cold, e.pid, e.since = stateCold, state, node.PID{}, time.Now()
	return true
}

// reactivate starts a cold entry's process from its kept state (e is
// starting; what arrived meanwhile is in its buffer).
func (c *Cluster) reactivate(e *entry, state []byte) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	defer cancel()
	pid, err := c.node.Spawn(ctx, e.id.Kind, []byte(e.id.Key), node.SpawnOpts{State: state, HasState: true})
	if errors.Is(err, errStale) {
		// A newer copy exists (its holder is hinted): this one is dropped
		// and what waited goes there.
		c.reroute(e, func(st entryState, _ node.PID) bool { return st == stateStarting })
		return
	}
	if err != nil {
		c.warnKey("reactivate-failed", "passivated process did not start again; its state stays", e.id, "", err)
		e.mu.Lock()
		e.state, e.cold = stateCold, state
		buf := e.buf
		e.buf = nil
		e.mu.Unlock()
		for _, p := range buf {
			c.fail(p.req, p.reply, ErrStart)
		}
		return
	}
	c.stats.reactivated.Add(1)
	e.lastUsed.Store(time.Now().UnixNano())
	c.adopt(e, pid)
	c.activate(e, stateStarting)
}

// wakeLocked turns a cold entry starting and returns its state (which may
// be empty: the caller decides by the entry's state, not by this); the
// caller starts reactivate after unlocking. Caller holds e.mu.
func (e *entry) wakeLocked() []byte {
	state := e.cold
	e.state, e.cold, e.since = stateStarting, nil, time.Now()
	return state
}
