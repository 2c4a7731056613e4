package placement

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
)

// supersedeLocal replaces e's process (pid) by a copy pushed with a newer
// term (see claimForImport): requests for the key wait meanwhile; the
// local process is frozen and its state handed to Config.Conflict as the
// loser's; the pushed copy starts (and replicates to its backups); the
// local mailbox is forwarded to it in order; e then serves it. The pusher
// is told its copy was taken (hsOK), as in a plain handoff.
func (c *Cluster) supersedeLocal(e *entry, pid node.PID, pusher string, m handoffMsg, deadline time.Time, reply node.ReplyFunc) {
	if !c.startMove(e, pid) {
		reply(encodeStatus(hsNotYet, nil), nil)
		return
	}
	ctx, cancel := context.WithDeadline(c.ctx, deadlineOrDefault(deadline, c.cfg.HandoffTimeout))
	defer cancel()
	lost, exported, err := c.node.Freeze(ctx, pid)
	if err != nil {
		c.activate(e, stateMoving)
		reply(encodeStatus(hsNotYet, nil), nil)
		return
	}
	rep := e.replState()
	prev := rep.set(m.term, m.seq)
	newPID, err := c.node.Spawn(ctx, m.kind, []byte(m.key), node.SpawnOpts{State: m.state, HasState: m.exported})
	if err != nil {
		rep.set(prev.term, prev.seq)
		_ = c.node.Thaw(pid)
		c.activate(e, stateMoving)
		reply(encodeStatus(hsFailed, []byte(err.Error())), nil)
		return
	}
	if exported && c.merges(m.kind) {
		// The local copy's writes since the copies parted merge into the
		// newer one (kv: per entry, last writer wins) before it serves
		// anything: no reader sees the state go back.
		_ = c.node.SendFrom(c.selfPID, newPID, append([]byte(mergePrefix), lost...))
	}
	_ = c.node.HandoffTo(ctx, pid, newPID) // the local mailbox follows, in order
	c.adopt(e, newPID)
	c.reg.dropPID(e, pid)
	c.activate(e, stateMoving)
	reply(encodeStatus(hsOK, encodePID(newPID)), nil)
	c.stats.replStale.Add(1)
	c.warns.Warn("superseded-by-push", "this node's copy was superseded by a newer copy (promoted while this node was thought dead); the newer copy took over",
		func(ev *zerolog.Event) *zerolog.Event {
			return ev.Str("kind_name", m.kind).Str("key", m.key).Str("from", pusher).Uint64("term", m.term).Uint64("stale_term", prev.term)
		})
	c.emitConflict(Conflict{Kind: m.kind, Key: m.key, Winner: c.self, WinnerPID: newPID, Loser: c.self, State: lost, Exported: exported})
}

// startMove marks e moving (requests buffer) if it is still active with
// pid.
func (c *Cluster) startMove(e *entry, pid node.PID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateActive || e.pid != pid {
		return false
	}
	e.state, e.since = stateMoving, time.Now()
	return true
}

// set replaces the copy's term and sequence number (before its process
// starts from a copy) and returns the previous ones; the next commit
// replicates in full.
func (r *replState) set(term, seq uint64) replica {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := replica{term: r.term, seq: r.seq}
	r.term, r.seq, r.last, r.stale = term, seq, nil, ""
	return prev
}
