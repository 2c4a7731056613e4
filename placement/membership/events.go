package membership

import (
	"errors"
	"slices"
	"time"

	"github.com/hashicorp/serf/serf"
)

// drainLoop empties Serf's event channel as fast as events arrive. Serf
// sends on it while holding its member lock, so any delay here would stall
// Serf's failure detection: the loop only converts and queues, and never
// calls into Serf. It runs until Serf has shut down (drainStop), so that
// Serf's last sends still find a reader, then empties the buffer and ends.
func (m *Membership) drainLoop() {
	for {
		select {
		case e := <-m.events:
			m.enqueue(e)
		case <-m.drainStop:
			for {
				select {
				case e := <-m.events:
					m.enqueue(e)
				default:
					return
				}
			}
		}
	}
}

// enqueue queues the placer members of a member event and wakes the
// publish loop. User events and queries are not used by placer: dropped.
func (m *Membership) enqueue(e serf.Event) {
	m.stats.events.Add(1)
	me, ok := e.(serf.MemberEvent)
	if !ok {
		return
	}
	batch := make([]rawEvent, 0, len(me.Members))
	refused := false
	for _, sm := range me.Members {
		pm, err := m.tk.memberFromSerf(sm)
		if err != nil { // a stock serf agent, or a refused member: never reported
			refused = refused || !errors.Is(err, errNotPlacer)
			continue
		}
		batch = append(batch, rawEvent{reap: me.Type == serf.EventMemberReap, member: pm})
	}
	if len(batch) == 0 {
		if refused {
			m.kickPublish() // so that the refusal is logged now
		}
		return
	}
	m.pendMu.Lock()
	m.pending = append(m.pending, batch...)
	m.pendMu.Unlock()
	m.kickPublish()
}

// kickPublish asks the publish loop to run soon; it never blocks.
func (m *Membership) kickPublish() {
	select {
	case m.kick <- struct{}{}:
	default: // a publish is already due
	}
}

func (m *Membership) takePending() []rawEvent {
	m.pendMu.Lock()
	defer m.pendMu.Unlock()
	p := m.pending
	m.pending = nil
	return p
}

// publishLoop publishes a View after every batch of events and on every
// reconcile tick (if something changed), until Shutdown begins.
func (m *Membership) publishLoop() {
	tick := time.NewTicker(m.cfg.ReconcileInterval)
	defer tick.Stop()
	held := time.NewTimer(time.Hour) // the end of the earliest report held back (damp.go)
	held.Stop()
	defer held.Stop()
	publish := func() {
		m.publish()
		if due := m.damp.nextDue(); !due.IsZero() {
			held.Reset(time.Until(due) + time.Millisecond)
		}
	}
	serfDown := m.serf.ShutdownCh()
	for {
		select {
		case <-m.done:
			return
		case <-m.kick:
			publish()
		case <-tick.C:
			publish()
		case <-held.C:
			publish()
		case <-serfDown:
			serfDown = nil
			if !m.isClosing() {
				// Serf shuts itself down when it loses a name-conflict vote.
				m.log.Error().Msg("serf shut down by itself (node name conflict?); membership is frozen until Shutdown")
			}
		}
	}
}

// publish folds pending events and Serf's current member list into the
// tracker and, if anything changed, publishes a new View. Only the publish
// loop (and Start, before the loop exists) calls it.
func (m *Membership) publish() {
	now := time.Now()
	holdsBefore := m.damp.holds()
	var changes []Change
	for _, ev := range m.takePending() {
		var c Change
		var ok bool
		if ev.reap {
			c, ok = m.tr.remove(ev.member.Name)
		} else {
			c, ok = m.tr.observe(m.damped(now, ev.member))
		}
		if ok {
			changes = append(changes, c)
		}
	}
	current, refused := m.scan()
	m.logRefusals(refused)
	for i := range current {
		current[i] = m.damped(now, current[i])
	}
	changes = append(changes, m.tr.reconcile(current)...)
	m.damp.observed(now, changes)
	if n := m.damp.holds() - holdsBefore; n > 0 {
		m.stats.damped.Add(n)
		m.log.Info().Uint64("held", n).Msg("a member that just joined was reported failed: held back as alive until it refutes the report (a restart's stale news) or the hold ends")
	}
	m.qMu.Lock()
	q := m.qt.update(current)
	m.qMu.Unlock()
	m.install(current, changes, q)
}

// damped is mem as the tracker should see it now (damp.go).
func (m *Membership) damped(now time.Time, mem Member) Member {
	last, known := m.tr.known[mem.Name]
	return m.damp.filter(now, mem, last, known, m.cfg.NodeName)
}

// logRefusals logs, at warn level, each member refused (a placer tag but
// bad tags or signature: never a ring member) that was not refused for the
// same reason at the previous publish, and forgets members no longer
// refused. So a refusal is logged once, not on every reconcile tick, and
// the map is bounded by Serf's member list. Neither the signature nor a
// key is ever logged.
func (m *Membership) logRefusals(refused map[string]string) {
	for name, why := range refused {
		if m.rejected[name] == why {
			continue
		}
		m.stats.rejections.Add(1)
		m.log.Warn().Str("member", name).Str("reason", why).
			Msg("refused a gossip member claiming to be a placer node: it never enters the ring")
	}
	if refused == nil {
		refused = map[string]string{}
	}
	m.rejected = refused
}

// install publishes a View if changes is not empty or the quorum moved.
func (m *Membership) install(current []Member, changes []Change, q Quorum) {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	m.viewMu.Lock()
	prev := m.view
	if prev.Version > 0 && len(changes) == 0 && quorumEqual(prev.Quorum, q) {
		m.viewMu.Unlock()
		return
	}
	v := View{
		Version: prev.Version + 1, Members: current, Alive: aliveOnly(current),
		Changes: changes, Heals: m.tr.heals, Quorum: q,
	}
	m.view = v
	m.viewMu.Unlock()
	m.stats.views.Add(1)
	m.logChanges(v)
	for ch := range m.subs {
		offer(ch, v)
	}
}

func quorumEqual(a, b Quorum) bool {
	return a.Alive == b.Alive && a.Majority == b.Majority && slices.Equal(a.Full, b.Full)
}

func (m *Membership) logChanges(v View) {
	for _, c := range v.Changes {
		ev := m.log.Info()
		if c.Kind == ChangeFailed {
			ev = m.log.Warn()
		}
		ev.Str("change", c.Kind.String()).Str("member", c.Member.Name).
			Str("status", c.Member.Status.String()).Uint64("version", v.Version).Msg("membership changed")
	}
	if len(v.Changes) > 0 {
		m.log.Debug().Uint64("version", v.Version).Int("alive", len(v.Alive)).
			Int("quorum_full", len(v.Quorum.Full)).Bool("majority", v.Quorum.Majority).Msg("view published")
	}
}

// Subscribe returns a channel of Views and a cancel function. The channel
// holds at most one View (latest value wins): a subscriber that falls
// behind gets the newest View with the missed Changes folded in (see
// View.Changes), so it never misses a change and never stalls anyone. The
// current View is delivered at once as a baseline. The channel is closed by
// cancel (idempotent) or by Shutdown; after Shutdown, Subscribe returns a
// closed channel.
func (m *Membership) Subscribe() (<-chan View, func()) {
	ch := make(chan View, 1)
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if m.subsClosed {
		close(ch)
		return ch, func() {}
	}
	m.subs[ch] = struct{}{}
	offer(ch, m.View())
	cancel := func() {
		m.subMu.Lock()
		defer m.subMu.Unlock()
		if _, ok := m.subs[ch]; ok {
			delete(m.subs, ch)
			close(ch)
		}
	}
	return ch, cancel
}

func (m *Membership) closeSubscribers() {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	m.subsClosed = true
	for ch := range m.subs {
		delete(m.subs, ch)
		close(ch)
	}
}
