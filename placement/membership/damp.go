package membership

import "time"

// A node restarted under the same name joins with a fresh memberlist
// incarnation (1), lower than the one its previous process left with.
// Until every member has heard the new process refute the old news (it does
// so as soon as it hears it, at its first push/pull), a leave or dead
// message of the previous process still in gossip, or a push/pull from a
// member that has not heard of the restart yet, marks the new process
// failed on the members it reaches; its refutation marks it alive again a
// few gossip rounds later. Reported as is, that flap makes placement
// promote the backups of the keys the new process just took over, and the
// writes it acknowledged meanwhile are lost when its copies are superseded
// (found by TestReplicatedRollingRestart under load: the restarted node was
// failed for 50 ms, 36 ms after it joined).
//
// damper holds such reports back: a member reported failed within window
// of its (re)join, as this node saw it, is still reported alive (also if it
// is reported left meanwhile: the stale news can be both) until hold has
// passed since the report, unless it is alive again before then (the
// refutation), when nothing is reported at all. A graceful leave, which
// Serf reports as leaving first, is never held. The window is shorter than
// the least time failure detection takes (dampTimes), so a member that
// crashes after it joined is never held; one reported failed inside it can
// only be news of an earlier process (or of a crash before this node heard
// of the join: reported hold later). Pure: the publish loop owns it and
// passes the time.
type damper struct {
	window, hold time.Duration
	joined       map[string]time.Time // when each member was last seen to (re)join
	held         map[string]held      // reports held back, by member name
	started      uint64               // holds started, ever
}

// held is a report held back: the member as last reported alive, and when
// the hold ends.
type held struct {
	alive Member
	until time.Time
}

func newDamper(window, hold time.Duration) *damper {
	return &damper{window: window, hold: hold, joined: map[string]time.Time{}, held: map[string]held{}}
}

// filter returns m as the tracker should see it at now: alive as last known
// (last) while a report of its departure is held back, else as reported.
// self is never held.
func (d *damper) filter(now time.Time, m Member, last Member, known bool, self string) Member {
	if d.hold <= 0 || m.Name == self {
		return m
	}
	if m.Status == StatusAlive {
		delete(d.held, m.Name) // refuted, or it never left
		return m
	}
	if h, ok := d.held[m.Name]; ok {
		if now.Before(h.until) {
			return h.alive
		}
		delete(d.held, m.Name)
		return m
	}
	at, ok := d.joined[m.Name]
	if !ok || !known || last.Status != StatusAlive || m.Status != StatusFailed || now.Sub(at) > d.window {
		return m // a graceful leave (leaving first) is never held
	}
	d.held[m.Name] = held{alive: last, until: now.Add(d.hold)}
	d.started++
	return last
}

// observed records the changes the tracker reported at now: joins and
// rejoins start a window; departures end it.
func (d *damper) observed(now time.Time, changes []Change) {
	for _, c := range changes {
		switch c.Kind {
		case ChangeJoin, ChangeRejoin:
			d.joined[c.Member.Name] = now
		case ChangeFailed, ChangeLeave, ChangeReap:
			delete(d.joined, c.Member.Name)
		}
	}
	for name, at := range d.joined {
		if now.Sub(at) > d.window {
			delete(d.joined, name)
		}
	}
}

// nextDue is when the earliest hold ends (zero if none): the publish loop
// publishes again then, so that a failure held back is reported on time.
func (d *damper) nextDue() time.Time {
	var next time.Time
	for _, h := range d.held {
		if next.IsZero() || h.until.Before(next) {
			next = h.until
		}
	}
	return next
}

// holds is how many holds started, ever.
func (d *damper) holds() uint64 { return d.started }
