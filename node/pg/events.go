package pg

import (
	"github.com/placerhq/placer/internal/lossy"
	"github.com/placerhq/placer/node"
)

// EventKind says whether members joined or left.
type EventKind uint8

const (
	// Joined: the PIDs joined the group.
	Joined EventKind = iota + 1
	// Left: the PIDs left the group (left it, exited, or their node went
	// down or stopped exchanging with this one).
	Left
)

// String names the kind ("join", "leave"), as pg's messages do.
func (k EventKind) String() string {
	switch k {
	case Joined:
		return "join"
	case Left:
		return "leave"
	}
	return "unknown"
}

// Event is a change of a group's membership as this node sees it (pg's
// {Ref, join | leave, Group, Pids}). A process that joined twice appears
// twice.
type Event struct {
	Group string
	Kind  EventKind
	PIDs  []node.PID // shared between subscribers: do not modify
	// Dropped is non-zero when this subscriber fell behind and that many
	// events before this one were discarded to make room (drop-oldest);
	// the sum over the events received is the number lost. The subscriber
	// should then re-read the group with Members.
	Dropped uint64
}

// Subscription delivers a group's or a whole scope's membership changes
// (Scope.Monitor, Scope.MonitorScope). The scope never blocks on it: C
// holds Config.EventBuffer events, and when it is full the oldest is
// discarded and the next delivered event reports the loss in Dropped. C is
// closed by Cancel and when the scope closes.
type Subscription struct {
	// C delivers the changes that happen after Members was taken, in order.
	C <-chan Event
	// Members is the membership when the subscription began: the group's
	// (one key, absent if empty) or every group of the scope.
	Members map[string][]node.PID
	cancel  func()
}

// Cancel ends the subscription and closes C. Idempotent.
func (w *Subscription) Cancel() { w.cancel() }

// subscriber is one subscription's channel: it drops its oldest event
// when full.
type subscriber = lossy.Chan[Event]

func eventDropped(ev *Event) *uint64 { return &ev.Dropped }

// subscribers are a scope's subscriptions (guarded by Scope.mu).
type subscribers struct {
	scope map[*subscriber]struct{}            // whole-scope subscriptions
	group map[string]map[*subscriber]struct{} // per-group subscriptions
}

// delivery is one event for one subscriber.
type delivery struct {
	to *subscriber
	ev Event
}

// route lists who gets each event.
func (ss *subscribers) route(evs []Event) []delivery {
	var out []delivery
	for _, ev := range evs {
		for s := range ss.scope {
			out = append(out, delivery{s, ev})
		}
		for s := range ss.group[ev.Group] {
			out = append(out, delivery{s, ev})
		}
	}
	return out
}

func (ss *subscribers) add(group string, s *subscriber, whole bool) {
	if whole {
		ss.scope[s] = struct{}{}
		return
	}
	if ss.group[group] == nil {
		ss.group[group] = map[*subscriber]struct{}{}
	}
	ss.group[group][s] = struct{}{}
}

func (ss *subscribers) remove(group string, s *subscriber, whole bool) {
	if whole {
		delete(ss.scope, s)
		return
	}
	delete(ss.group[group], s)
	if len(ss.group[group]) == 0 {
		delete(ss.group, group)
	}
}

// takeAll empties the set and returns every subscriber.
func (ss *subscribers) takeAll() []*subscriber {
	var out []*subscriber
	for s := range ss.scope {
		out = append(out, s)
	}
	for _, set := range ss.group {
		for s := range set {
			out = append(out, s)
		}
	}
	ss.scope, ss.group = map[*subscriber]struct{}{}, map[string]map[*subscriber]struct{}{}
	return out
}
