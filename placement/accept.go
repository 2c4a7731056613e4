package placement

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
)

// The handoff service "placer.handoff" answers the old owner's accept and
// finish and the new owner's pull. Like the router it runs inline on the
// transport reader: it never blocks (a spawn runs on its own goroutine and
// answers through the deferred reply).

// onHandoff dispatches a handoff call.
func (c *Cluster) onHandoff(from node.PID, payload []byte, deadline time.Time, reply node.ReplyFunc) {
	m, err := decodeHandoffMsg(payload)
	switch {
	case err != nil:
		reply(encodeStatus(hsFailed, []byte(err.Error())), nil)
	case c.isClosing():
		reply(encodeStatus(hsNotYet, nil), nil)
	case m.op == hoAccept:
		c.onAccept(from.Node, m, deadline, reply)
	case m.op == hoFinish:
		c.onFinish(m, reply)
	case m.op == hoView:
		sum := c.snap.Load().view.Checksum
		reply(encodeStatus(hsOK, binary.BigEndian.AppendUint64(nil, sum)), nil)
	default:
		c.onPull(from.Node, m, reply)
	}
}

// onAccept takes a process pushed by its old owner: started here from its
// state (answering its new PID) if this node owns the key and does not
// run it yet; a conflict if it runs it already; "not yet" otherwise.
func (c *Cluster) onAccept(oldOwner string, m handoffMsg, deadline time.Time, reply node.ReplyFunc) {
	s := c.snap.Load()
	switch {
	case s.owner(m.key) != c.self || (c.cfg.Quorum && !s.quorum):
		reply(encodeStatus(hsNotYet, nil), nil)
		return
	case !c.kinds[m.kind]:
		reply(encodeStatus(hsFailed, []byte(ErrUnknownKind.Error())), nil)
		return
	}
	id := keyID{Kind: m.kind, Key: m.key}
	e, created := c.reg.getOrCreate(id, stateImporting, nil, time.Now())
	if !created && !c.claimForImport(e, oldOwner, m, deadline, reply) {
		return
	}
	c.initRep(e, max(m.term, 1), m.seq)
	m.state = bytes.Clone(m.state)
	if !c.goTracked(func() { c.spawnImport(e, m, deadline, reply) }) {
		c.dropEntry(e, ErrShutdown)
		reply(encodeStatus(hsNotYet, nil), nil)
	}
}

// claimForImport decides what an accept does to an existing entry: a
// pulling entry becomes importing (true: go on and spawn); an active one
// is a conflict, which the newer copy wins (a higher term: a promotion
// supersedes the copy of a node thought dead), else this node's, the
// owner's; anything else answers "not yet".
func (c *Cluster) claimForImport(e *entry, oldOwner string, m handoffMsg, deadline time.Time, reply node.ReplyFunc) bool {
	e.mu.Lock()
	st, pid := e.state, e.pid
	if st == statePulling {
		e.state, e.since = stateImporting, time.Now()
	}
	e.mu.Unlock()
	switch {
	case st == statePulling:
		return true
	case st == stateActive && c.incomingNewer(e, m):
		if !c.goTracked(func() { c.supersedeLocal(e, pid, oldOwner, m, deadline, reply) }) {
			reply(encodeStatus(hsNotYet, nil), nil)
		}
	case st == stateActive:
		c.resolveConflict(oldOwner, m, pid, reply)
	case st == stateCold:
		c.wake(e) // a conflict with a passivated copy: start it, the pusher retries
		reply(encodeStatus(hsNotYet, nil), nil)
	default:
		reply(encodeStatus(hsNotYet, nil), nil)
	}
	return false
}

// wake starts a passivated entry's process again.
func (c *Cluster) wake(e *entry) {
	e.mu.Lock()
	var state []byte
	woke := e.state == stateCold
	if woke {
		state = e.wakeLocked()
	}
	e.mu.Unlock()
	if woke && !c.goTracked(func() { c.reactivate(e, state) }) {
		c.dropEntry(e, ErrShutdown)
	}
}

// incomingNewer reports whether a pushed copy supersedes e's: a higher
// term, or the same term and more updates (replicated kinds only).
func (c *Cluster) incomingNewer(e *entry, m handoffMsg) bool {
	rep := e.replState()
	if rep == nil {
		return false
	}
	local := rep.snapshot()
	in := replica{term: m.term, seq: m.seq}
	return in.newer(&local)
}

// spawnImport starts the pushed process and answers accept with its PID.
// The entry stays importing until the old owner's finish. If the old owner
// gave up waiting meanwhile (its deadline passed: it thaws its process),
// the new process is stopped again so that the key does not run twice.
func (c *Cluster) spawnImport(e *entry, m handoffMsg, deadline time.Time, reply node.ReplyFunc) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	defer cancel()
	opts := node.SpawnOpts{State: m.state, HasState: m.exported}
	pid, err := c.node.Spawn(ctx, m.kind, []byte(m.key), opts)
	if err != nil {
		err = fmt.Errorf("%w: import: %w", ErrStart, err)
		c.dropEntry(e, err)
		reply(encodeStatus(hsFailed, []byte(err.Error())), nil)
		return
	}
	if !deadline.IsZero() && time.Now().After(deadline) {
		_ = c.node.Exit(pid, node.Reason{Kind: node.Killed})
		c.reroute(e, func(st entryState, _ node.PID) bool { return st == stateImporting })
		return
	}
	c.stats.imported.Add(1)
	c.adopt(e, pid)
	e.mu.Lock()
	e.since = time.Now()
	e.mu.Unlock()
	reply(encodeStatus(hsOK, encodePID(pid)), nil)
	if rep := e.replState(); rep != nil && m.exported {
		// The backups of the key's new place get its state now, not at its
		// next write: the handoff is lossless against a crash too.
		rep.mu.Lock()
		if rep.last == nil {
			rep.last, rep.exported = m.state, true
		}
		rep.mu.Unlock()
		c.sendCopy(e, c.snap.Load().view)
	}
}

// resolveConflict: after a heal the old owner pushed a key this node (its
// owner now) already runs. This copy wins; the loser hands its queued
// messages to it, and its exported state goes to Config.Conflict.
func (c *Cluster) resolveConflict(loser string, m handoffMsg, winner node.PID, reply node.ReplyFunc) {
	c.stats.conflicts.Add(1)
	reply(encodeStatus(hsConflict, encodePID(winner)), nil)
	merged := m.exported && c.merges(m.kind)
	if merged {
		c.log.Debug().Str("kind", m.kind).Str("key", m.key).Str("loser", loser).Msg("duplicate resolved: the loser's state merges into this copy")
	} else {
		c.warns.Warn("conflict", "duplicate resolved: this copy won and the loser's state is not in it (it went to Config.Conflict and the conflict event)",
			func(ev *zerolog.Event) *zerolog.Event {
				return ev.Str("kind_name", m.kind).Str("key", m.key).Str("loser", loser).Int("state_bytes", len(m.state))
			})
	}
	cf := Conflict{Kind: m.kind, Key: m.key, Winner: c.self, WinnerPID: winner, Loser: loser, Exported: m.exported}
	if m.exported {
		cf.State = bytes.Clone(m.state)
	}
	c.emitConflict(cf)
	if merged {
		// The winner merges the loser's state on its own goroutine.
		_ = c.node.SendFrom(c.selfPID, winner, append([]byte(mergePrefix), m.state...))
	}
}

// merges reports whether kind implements Merger.
func (c *Cluster) merges(kind string) bool { return c.mergers[kind] }

// onFinish: the old owner forwarded everything it buffered; deliver what
// arrived here directly, then serve the key normally.
func (c *Cluster) onFinish(m handoffMsg, reply node.ReplyFunc) {
	if e := c.reg.get(keyID{Kind: m.kind, Key: m.key}); e != nil {
		c.activate(e, stateImporting)
	}
	reply(encodeStatus(hsOK, nil), nil)
}

// onPull answers a new owner asking whether this node hosts a key: it
// pushes the key if it does and agrees who owns it ("pushing"), says
// "none" if it does not and the two views agree, and "not yet" otherwise.
func (c *Cluster) onPull(asker string, m handoffMsg, reply node.ReplyFunc) {
	s := c.snap.Load()
	id := keyID{Kind: m.kind, Key: m.key}
	st := stateGone
	if e := c.reg.get(id); e != nil {
		st, _ = e.snapshot()
	}
	answer := hsNotYet
	switch {
	case st == stateMoving:
		answer = hsPushing
	case (st == stateActive || st == stateCold) && s.owner(m.key) == asker:
		c.queue.add(id)
		answer = hsPushing
	case st == stateGone && m.checksum == s.view.Checksum:
		answer = hsNone
	}
	reply(encodeStatus(answer, nil), nil)
}
