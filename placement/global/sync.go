package global

import (
	"context"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// onCall answers another node's service (a recovering authority, a
// liveness check) inline: a table read, never blocking.
func (s *Service) onCall(_ node.PID, req []byte, _ time.Time, reply node.ReplyFunc) {
	c, err := decodeSvcCall(req)
	if err != nil {
		s.stats.bad.Add(1)
		reply(nil, err)
		return
	}
	s.clock.observe(c.hlc)
	switch c.op {
	case callRecoverName:
		e, ok := s.tab.get(c.id)
		reply(encodeRecoverName(s.clock.now(), e.rec, ok), nil)
	case callRecoverLock:
		l, ok := s.heldLockInfo(c.id)
		reply(encodeRecoverLock(s.clock.now(), l, ok), nil)
	case callAlive:
		alive := byte(0)
		if s.localAlive(c.pid) {
			alive = 1
		}
		reply([]byte{alive}, nil)
	}
}

// heldLockInfo is what this node's processes hold of lock id.
func (s *Service) heldLockInfo(id string) (LockInfo, bool) {
	s.mu.Lock()
	h, ok := s.held[id]
	s.mu.Unlock()
	if !ok || !s.localAlive(h.holder) {
		return LockInfo{}, false
	}
	return LockInfo{ID: id, Holder: h.holder, Token: h.token, Count: h.count}, true
}

// loop handles the watch inbox: node events and the exits of local lock
// holders. It ends at Close or when the node shuts down (the inbox
// closes), and then stops the other goroutines too.
func (s *Service) loop() {
	defer s.cancel()
	for {
		m, err := s.watch.Receive(s.ctx)
		if err != nil {
			return
		}
		switch m := m.(type) {
		case node.NodeUp:
			s.nodeUp(m.Node)
		case node.Down:
			s.holderDown(m.PID)
		case node.Call:
			m.Reply(nil, node.ErrBadArg)
		}
	}
}

// nodeUp: a visible node connected (or this service started while it was
// connected). It gets the names this node owns (a sync) and a discover, so
// that it answers with its own even if its service missed this one's
// start; and this node claims to it what its own processes hold of the
// ids it owns (they may have been given up while the link was down).
func (s *Service) nodeUp(peer string) {
	s.mu.Lock()
	s.syncLocked(peer)
	s.enqueueLocked([]string{peer}, svcMsg{op: msgDiscover, hlc: s.clock.now()})
	for id, h := range s.held {
		if s.ownerOf(id) == peer {
			h.authority = ""
			s.held[id] = h
		}
	}
	s.mu.Unlock()
	s.unackLocalHolders(peer)
	s.nudgeClaims()
}

// sendSync sends peer the names this node owns (in answer to a discover).
func (s *Service) sendSync(peer string) {
	s.mu.Lock()
	s.syncLocked(peer)
	s.mu.Unlock()
}

func (s *Service) syncLocked(peer string) {
	s.enqueueLocked([]string{peer}, svcMsg{op: msgSync, hlc: s.clock.now(), recs: s.ownRangeLocked()})
}

// ownRangeLocked lists the records of the names this node owns: its
// replica is their truth (its authorities write it, and a fresh authority
// starts from it) (s.mu held).
func (s *Service) ownRangeLocked() []record {
	var out []record
	for _, e := range s.tab.snapshot() {
		if s.ownerOf(e.rec.name) == s.name {
			out = append(out, e.rec)
		}
	}
	return out
}

// unackLocalHolders marks the live names of local processes owned by peer
// as unconfirmed, so that the next claim round sends them.
func (s *Service) unackLocalHolders(peer string) {
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	for name, e := range s.tab.entries {
		if e.rec.live() && e.rec.pid.Node == s.name && s.ownerOf(name) == peer {
			e.authority = ""
			s.tab.entries[name] = e
		}
	}
}

// holderDown forgets the locks a local process held (it exited; its
// authorities saw it too).
func (s *Service) holderDown(pid node.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.heldRefs, pid)
	for id, h := range s.held {
		if h.holder == pid {
			delete(s.held, id)
		}
	}
}

// tickLoop runs a claim round every SyncInterval and when nudged (a view
// change, a node up, a name given up on).
func (s *Service) tickLoop() {
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.nudge:
		}
		s.round()
	}
}

// round: connect to the members not connected, claim every record and
// held lock whose owner has not confirmed it, restart authorities of live
// names that have none, send digests, forget old tombstones.
func (s *Service) round() {
	c := s.c()
	v := c.View()
	s.connect(c, v)
	s.claimNames(c, v)
	s.claimLocks(c, v)
	s.sendDigests(c.Node(), v)
	if n := s.tab.expire(time.Now().Add(-s.cfg.TombstoneTTL)); n > 0 {
		s.stats.expired.Add(uint64(n))
	}
}

// connect connects to the ring members this node has no connection to
// (each round, so that a failed attempt is retried), so that
// disseminations reach every member, and the process groups' exchange
// too (Erlang's global keeps the cluster fully connected). Each attempt
// runs on its own goroutine (one per member at a time, bounded by
// RecoverTimeout), so that a member that does not answer never delays the
// claims.
func (s *Service) connect(c *placement.Cluster, v *placement.View) {
	n := c.Node()
	for _, m := range v.Members {
		if m.Name == s.name || n.IsConnected(m.Name) {
			continue
		}
		if _, busy := s.connecting.LoadOrStore(m.Name, true); busy {
			continue
		}
		peer := m.Name
		if !s.gos.Go(func() {
			defer s.connecting.Delete(peer)
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RecoverTimeout)
			defer cancel()
			n.Connect(ctx, peer)
		}) {
			s.connecting.Delete(peer) // closing
		}
	}
}

// claimNames sends each record the name's owner has not confirmed (the
// replica holds another authority's word, or none), a claim of each live
// name this node owns whose authority process is gone, and the queued
// claims of local holders.
func (s *Service) claimNames(c *placement.Cluster, v *placement.View) {
	s.mu.Lock()
	due := s.pending
	s.pending = nil
	auths := make(map[string]bool, len(s.auths))
	for name := range s.auths {
		auths[name] = true
	}
	s.mu.Unlock()
	s.tab.mu.RLock()
	for _, e := range s.tab.entries {
		if s.claimDue(e, v.Owner(e.rec.name), auths) {
			due = append(due, e.rec)
		}
	}
	s.tab.mu.RUnlock()
	for _, rec := range due {
		s.sendClaim(c, rec)
	}
}

// claimDue: a live or ended record its owner has not confirmed, or a live
// name of this node's range without an authority process.
func (s *Service) claimDue(e entry, owner string, auths map[string]bool) bool {
	switch {
	case owner == "" || (e.rec.state != stateLive && e.rec.state != stateTomb):
		return false
	case e.authority != owner:
		return true
	}
	return owner == s.name && e.rec.live() && !auths[e.rec.name]
}

// sendClaim routes a claim of rec to the name's authority.
func (s *Service) sendClaim(c *placement.Cluster, rec record) {
	q := request{op: opClaim, hlc: s.clock.now(), claimant: s.name, rec: rec}
	if err := c.Send(s.ctx, KindName, rec.name, q.encode()); err == nil {
		s.stats.claims.Add(1)
	}
}

// claimLocks asks the owner of each lock held here that it has not
// confirmed to take the holder in (a call each: the answer confirms it, or
// says the lock was lost to a holder with a larger token).
func (s *Service) claimLocks(c *placement.Cluster, v *placement.View) {
	s.mu.Lock()
	var due []LockInfo
	for id, h := range s.held {
		if owner := v.Owner(id); owner != "" && owner != h.authority {
			due = append(due, LockInfo{ID: id, Holder: h.holder, Token: h.token, Count: h.count, Authority: owner})
		}
	}
	s.mu.Unlock()
	for _, l := range due {
		s.claimLock(c, l)
	}
}

func (s *Service) claimLock(c *placement.Cluster, l LockInfo) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RecoverTimeout)
	defer cancel()
	q := request{op: opLockClaim, hlc: s.clock.now(), claimant: s.name, pid: l.Holder, token: l.Token, count: uint64(l.Count)}
	b, err := c.Call(ctx, KindLock, l.ID, q.encode())
	if err != nil {
		return
	}
	p, err := decodeReply(b, replyEmpty)
	if err != nil {
		return
	}
	s.clock.observe(p.hlc)
	s.stats.claims.Add(1)
	switch p.status {
	case stOK:
		s.ackLock(l.ID, l.Holder, l.Authority)
	case stNotHeld:
		s.dropHeld(l.ID, l.Holder)
	}
}

// ackLock records that the owner of lock id confirmed a local holder.
func (s *Service) ackLock(id string, holder node.PID, authority string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.held[id]; ok && h.holder == holder {
		h.authority = authority
		s.held[id] = h
	}
}

// dropHeld forgets that holder holds lock id (released, or lost).
func (s *Service) dropHeld(id string, holder node.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.held[id]; ok && h.holder == holder {
		delete(s.held, id)
	}
}
