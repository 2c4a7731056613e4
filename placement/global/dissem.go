package global

import (
	"slices"
	"time"

	"github.com/placerhq/placer/node"
)

// Dissemination: authorities publish each change to every visible node;
// each node applies what it receives to its replica by these rules
// (docs/global.md, "Dissemination"):
//   - the names this node owns in its view are written only by its own
//     authorities (the owner's replica is the truth recovery starts from);
//   - otherwise a record is taken if its version is newer, or if it comes
//     from the name's owner in this node's view and the replica held
//     another authority's word (the new owner's word wins);
//   - a gone record (the authority lost contact with the holder's node)
//     for a live process of this node is not taken: the node claims the
//     name back instead, as Erlang's global keeps a node's own names;
//   - a record that replaces the live registration of a live process of
//     this node by something that did not end it (another holder, after a
//     heal) is taken, and that registration is claimed to the owner, so
//     that the authority resolves the conflict and tells the loser rather
//     than a replica dropping it silently.

// onCast receives a message from another node's service, inline on the
// transport reader: it decodes, applies and never blocks.
func (s *Service) onCast(from node.PID, payload []byte) {
	m, err := decodeSvcMsg(payload)
	if err != nil {
		s.stats.bad.Add(1)
		s.log.Debug().Str("from", from.String()).Err(err).Msg("bad message dropped")
		return
	}
	s.clock.observe(m.hlc)
	switch m.op {
	case msgDiscover:
		s.sendSync(from.Node)
		return
	case msgDigest:
		s.checkDigest(from.Node, m)
		return
	case msgConflict:
		s.tellLoser(m.recs[0], m.recs[1])
		return
	}
	s.stats.updatesIn.Add(uint64(len(m.recs)))
	for _, rec := range m.recs {
		s.applyRemote(rec, from.Node)
	}
}

// applyRemote applies a record from node from's authority (or its sync).
func (s *Service) applyRemote(rec record, from string) {
	owner := s.ownerOf(rec.name)
	if owner == s.name {
		s.stats.updatesStale.Add(1)
		return
	}
	if rec.state == stateGone && s.localAlive(rec.pid) {
		s.reclaimLocal(rec)
		return
	}
	s.tab.mu.Lock()
	cur, ok := s.tab.entries[rec.name]
	take := !ok || rec.version > cur.rec.version || (from == owner && cur.authority != from)
	if take {
		s.tab.putLocked(entry{rec: rec, authority: from}, time.Now())
	}
	s.tab.mu.Unlock()
	if !take {
		s.stats.updatesStale.Add(1)
		return
	}
	if ok && cur.rec.live() && cur.rec.pid != rec.pid && s.localAlive(cur.rec.pid) {
		s.claimLater(cur.rec)
	}
}

// claimLater queues a claim of rec for the next claim round (now).
func (s *Service) claimLater(rec record) {
	s.mu.Lock()
	s.pending = append(s.pending, rec)
	s.mu.Unlock()
	s.nudgeClaims()
}

// reclaimLocal keeps the name of a live local process that its authority
// gave up on (lost contact) and claims it back at once.
func (s *Service) reclaimLocal(rec record) {
	rec.state, rec.at = stateLive, 0
	s.tab.mu.Lock()
	s.tab.putLocked(entry{rec: rec}, time.Now())
	s.tab.mu.Unlock()
	s.nudgeClaims()
}

// applyReply stores the record an authority answered this node with
// (read your writes): like a dissemination from the name's owner. When
// the authority is this node's own, it publishes only after its answer,
// so the answer is stored here too, unless the replica already holds a
// newer version.
func (s *Service) applyReply(rec record) {
	switch owner := s.ownerOf(rec.name); owner {
	case "":
	case s.name:
		s.tab.putOwn(rec, s.name, true)
	default:
		s.applyRemote(rec, owner)
	}
}

// publish is how a local authority makes a change known: its node's
// replica first, then every visible node, in the order of the changes.
func (s *Service) publish(rec record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tab.putOwn(rec, s.name, false)
	if n := s.Node(); n != nil {
		s.enqueueLocked(n.Nodes(node.NodesVisible), svcMsg{op: msgUpdate, hlc: s.clock.now(), recs: []record{rec}})
	}
	s.stats.published.Add(1)
}

// ackTo tells one claimant what the authority holds (the claim changed
// nothing).
func (s *Service) ackTo(claimant string, rec record) {
	if claimant == s.name {
		s.tab.putOwn(rec, s.name, false)
		return
	}
	s.mu.Lock()
	s.enqueueLocked([]string{claimant}, svcMsg{op: msgUpdate, hlc: s.clock.now(), recs: []record{rec}})
	s.mu.Unlock()
}

// enqueueLocked queues m for the sender (s.mu held).
func (s *Service) enqueueLocked(to []string, m svcMsg) {
	if s.closed || len(to) == 0 {
		return
	}
	s.out = append(s.out, outMsg{to: to, m: m})
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// sendLoop sends the queued messages in order until Close, holding them
// back for up to Config.Coalesce while changes keep coming (holdFor).
func (s *Service) sendLoop() {
	var last time.Time
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	defer wait.Stop()
	for {
		select {
		case <-s.kick:
		case <-s.ctx.Done():
			return
		}
		if d := holdFor(time.Now(), last, s.cfg.Coalesce); d > 0 {
			wait.Reset(d)
			select {
			case <-wait.C:
			case <-s.ctx.Done():
				return
			}
		}
		last = time.Now()
		s.flush()
	}
}

// holdFor is how long the sender waits, at now, before it flushes what is
// queued, when it last flushed at last: nothing if that was more than
// coalesce ago (a change after a quiet spell goes out at once), else until
// coalesce after it, so that while changes keep coming a node flushes at
// most once per coalesce and each other node gets one message with all of
// them instead of one per change.
func holdFor(now, last time.Time, coalesce time.Duration) time.Duration {
	return min(max(0, coalesce-now.Sub(last)), max(0, coalesce)) // never longer than coalesce
}

func (s *Service) flush() {
	s.mu.Lock()
	batch := s.out
	s.out = nil
	s.mu.Unlock()
	n := s.Node()
	dests, merged := coalesce(batch)
	s.stats.coalesced.Add(uint64(merged))
	for _, d := range dests {
		s.sendParts(n, d.to, d.msgs)
	}
}

// destMsgs is what one flush sends to one node, in order.
type destMsgs struct {
	to   string
	msgs []svcMsg
}

// coalesce sorts batch by destination, in the order each node was first
// named, keeping each node's messages in order and merging its
// consecutive updates into one (their records in order, the newest
// clock): a node applies the records of a message one after another, as
// it would apply the separate messages. merged counts the messages merged
// into another, per node.
func coalesce(batch []outMsg) (out []destMsgs, merged int) {
	at := map[string]int{}
	for _, o := range batch {
		for _, to := range o.to {
			i, ok := at[to]
			if !ok {
				i = len(out)
				at[to] = i
				out = append(out, destMsgs{to: to})
			}
			d := &out[i]
			if k := len(d.msgs) - 1; k >= 0 && o.m.op == msgUpdate && d.msgs[k].op == msgUpdate {
				last := &d.msgs[k]
				last.recs = append(slices.Clip(last.recs), o.m.recs...)
				last.hlc = max(last.hlc, o.m.hlc)
				merged++
				continue
			}
			d.msgs = append(d.msgs, o.m)
		}
	}
	return out, merged
}

// sendParts sends to a node that is connected; like pg's noconnect sends
// it never connects: a node that connects later gets a sync.
func (s *Service) sendParts(n *node.Node, to string, msgs []svcMsg) {
	if n.IsConnected(to) {
		_ = s.sendMsgs(n, to, msgs)
	}
}

// sendMsgs sends msgs to the service on node to, in order, each split
// under MaxMessageSize (a send may connect); it stops at the first error.
func (s *Service) sendMsgs(n *node.Node, to string, msgs []svcMsg) error {
	for _, m := range msgs {
		for _, b := range encodeSvcMsgs(m, s.cfg.MaxMessageSize) {
			if err := n.SendFrom(s.self, node.Named{Name: ServiceName, Node: to}, b); err != nil {
				s.stats.sendErrors.Add(1)
				return err
			}
			s.stats.sent.Add(1)
		}
	}
	return nil
}
