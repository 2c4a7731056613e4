package node

import "time"

// exitProc runs after a process (or inbox) has finished: it frees the name,
// empties or forwards the mailbox, fires the monitors, signals the links and
// answers whatever calls were left. It runs on the process's goroutine (or
// the inbox closer's).
func (n *Node) exitProc(p *Proc, reason Reason) {
	n.unregisterProc(p)
	handoff := reason.Kind == Handoff && p.handoff != nil
	var left []envelope
	if handoff {
		left = p.mb.startForward(reason.NewPID)
		for _, e := range left {
			n.forwardEnv(reason.NewPID, e)
		}
		p.mb.fwdMu.Unlock()
		n.addTomb(p)
	} else {
		left = p.mb.close()
		n.procs.CompareAndDelete(p.pid.ID, p)
	}
	n.nproc.Add(-1)
	n.releaseRelations(p, reason)
	if !handoff {
		n.failBacklog(p, left, reason)
	}
	p.failReplies(reason)
	if p.handoff != nil {
		close(p.handoff.done)
	}
	if reason.Kind == Error {
		n.log.Debug().Str("pid", p.pid.String()).Str("kind", p.kind).Str("reason", reason.String()).Msg("process exited")
	}
}

// failBacklog answers what was still queued when p exited: calls get
// ErrNoProc, control requests fail; messages are dropped.
func (n *Node) failBacklog(p *Proc, left []envelope, reason Reason) {
	for _, e := range left {
		switch e.kind {
		case envCall:
			n.reply(p.pid, e.from, e.ref, nil, exitedErr(p.pid, reason))
		case envFreeze:
			e.sys.freeze.deliver(nil, false, exitedErr(p.pid, reason))
		case envHandoff:
			e.sys.handoff.err = exitedErr(p.pid, reason)
			close(e.sys.handoff.done)
		}
	}
}

// releaseRelations marks p exited and undoes every monitor, link and node
// monitor it was part of, notifying the other side of each.
func (n *Node) releaseRelations(p *Proc, reason Reason) {
	var b batch
	n.relMu.Lock()
	p.exited, p.exitReason = true, reason
	n.releaseWatchersLocked(&b, p, reason)
	n.releaseLinksLocked(&b, p, reason)
	n.releaseOwnMonitorsLocked(&b, p)
	for node, ws := range n.rel.nodeMons {
		delete(ws, p.pid)
		if len(ws) == 0 {
			delete(n.rel.nodeMons, node)
		}
	}
	delete(n.rel.nodeSubs, p.pid)
	n.relMu.Unlock()
	b.flush(n, false)
}

// releaseWatchersLocked fires the monitors on p.
func (n *Node) releaseWatchersLocked(b *batch, p *Proc, reason Reason) {
	ws := n.rel.watchers[p.pid.ID]
	delete(n.rel.watchers, p.pid.ID)
	for key, w := range ws {
		if key.node == n.name {
			n.fireLocked(b, key.ref, p.pid, reason)
			continue
		}
		delFrom(n.rel.watchersFrom, key.node, key)
		b.frame(key.node, downFrame(p.pid, w, key.ref, reason))
	}
}

// releaseLinksLocked sends p's exit signal to every linked process.
func (n *Node) releaseLinksLocked(b *batch, p *Proc, reason Reason) {
	ls := n.rel.links[p.pid.ID]
	delete(n.rel.links, p.pid.ID)
	for pid := range ls {
		if pid.Node != n.name {
			delFrom(n.rel.linksTo, pid.Node, linkKey{p.pid.ID, pid})
			b.frame(pid.Node, exitFrame(p.pid, pid, exitLink, reason))
			continue
		}
		delFrom(n.rel.links, pid.ID, p.pid)
		if tp, _ := n.lookup(pid); tp != nil {
			b.signals = append(b.signals, signal{to: tp, from: p.pid, reason: reason})
		}
	}
}

// releaseOwnMonitorsLocked removes the monitors p held, telling remote
// targets' nodes.
func (n *Node) releaseOwnMonitorsLocked(b *batch, p *Proc) {
	for ref := range n.rel.monsOf[p.pid.ID] {
		m := n.rel.mons[ref]
		delete(n.rel.mons, ref)
		if m == nil || m.fired {
			continue
		}
		if m.node == n.name {
			delFrom(n.rel.watchers, m.target.ID, monKey{n.name, ref})
			continue
		}
		delFrom(n.rel.monsTo, m.node, ref)
		b.frame(m.node, demonitorFrame(m, ref))
	}
	delete(n.rel.monsOf, p.pid.ID)
}

// tomb is a handed-off process whose old PID still forwards until expiry.
type tomb struct {
	p      *Proc
	expiry time.Time
}

func (n *Node) addTomb(p *Proc) {
	n.tombMu.Lock()
	defer n.tombMu.Unlock()
	n.tombs = append(n.tombs, tomb{p, time.Now().Add(n.cfg.HandoffGrace)})
}

// sweepTombs forgets the tombstones whose grace period is over; their PIDs
// then behave like any dead PID.
func (n *Node) sweepTombs(now time.Time) {
	n.tombMu.Lock()
	defer n.tombMu.Unlock()
	i := 0
	for ; i < len(n.tombs) && now.After(n.tombs[i].expiry); i++ {
		n.procs.CompareAndDelete(n.tombs[i].p.pid.ID, n.tombs[i].p)
	}
	n.tombs = append(n.tombs[:0], n.tombs[i:]...)
}
