package membership

import (
	"slices"
	"strconv"
)

// This file is the pure core of the event loop: given what Serf reported,
// which changes happened and where the quorum stands. No goroutines, locks,
// clocks or I/O; the event loop (events.go) owns one tracker and one
// quorumTracker and feeds them.

// ChangeKind classifies a Change.
type ChangeKind uint8

// Change kinds.
const (
	// ChangeJoin: a member became alive, first seen or back after a
	// graceful leave.
	ChangeJoin ChangeKind = iota + 1
	// ChangeRejoin: a member this node had seen failed is alive again: a
	// partition healed (Serf merged the two sides) or the node restarted
	// with the same name. Placement uses it to look for duplicate keys.
	ChangeRejoin
	// ChangeLeave: a member announced a graceful leave (leaving or left).
	ChangeLeave
	// ChangeFailed: a member stopped answering and was marked failed.
	ChangeFailed
	// ChangeUpdate: a member's tags (weight, transport address, protocol
	// version, extra tags) or gossip address changed; status unchanged.
	ChangeUpdate
	// ChangeReap: Serf dropped a failed or left member from its list
	// (reconnect timeout or tombstone timeout expired, or a forced prune).
	ChangeReap
)

// String returns the kind's lower-case name.
func (k ChangeKind) String() string {
	names := [...]string{"", "join", "rejoin", "leave", "failed", "update", "reap"}
	if int(k) < len(names) && k != 0 {
		return names[k]
	}
	return "change(" + strconv.Itoa(int(k)) + ")"
}

// Change is one membership change.
type Change struct {
	Kind   ChangeKind
	Member Member // the member's state after the change (last state for ChangeReap)
	// Previous is the member's status before the change, 0 if it was not
	// known before.
	Previous Status
}

// tracker remembers the last state reported for every placer member and
// turns new observations into Changes. Observations may repeat or arrive
// both as events and through a full re-read; repeats produce nothing.
type tracker struct {
	known map[string]Member
	heals uint64 // ChangeRejoin count
}

func newTracker() *tracker { return &tracker{known: make(map[string]Member)} }

// observe records m's current state and returns the change it implies, if
// any.
func (t *tracker) observe(m Member) (Change, bool) {
	old, had := t.known[m.Name]
	if had && old.equal(m) {
		return Change{}, false // the common case on a reconcile tick: no copy
	}
	t.known[m.Name] = cloneMember(m)
	if !had {
		if m.Status == StatusAlive {
			return Change{Kind: ChangeJoin, Member: m}, true
		}
		return Change{}, false // first seen already gone: nothing changed for us
	}
	kind, ok := transition(old, m)
	if ok && kind == ChangeRejoin {
		t.heals++
	}
	return Change{Kind: kind, Member: m, Previous: old.Status}, ok
}

// transition classifies old -> cur for a known member.
func transition(old, cur Member) (ChangeKind, bool) {
	switch {
	case old.Status == cur.Status || (old.Status.departed() && cur.Status.departed()):
		return ChangeUpdate, !old.sameTags(cur)
	case cur.Status == StatusAlive && old.Status == StatusFailed:
		return ChangeRejoin, true
	case cur.Status == StatusAlive:
		return ChangeJoin, true
	case cur.Status.departed():
		return ChangeLeave, true
	default: // cur failed
		return ChangeFailed, true
	}
}

// remove records that Serf no longer lists name.
func (t *tracker) remove(name string) (Change, bool) {
	old, had := t.known[name]
	if !had {
		return Change{}, false
	}
	delete(t.known, name)
	return Change{Kind: ChangeReap, Member: old, Previous: old.Status}, true
}

// reconcile compares the complete current member list with what is known
// and returns the changes not yet reported, in name order.
func (t *tracker) reconcile(current []Member) []Change {
	var out []Change
	seen := make(map[string]bool, len(current))
	for _, m := range current {
		seen[m.Name] = true
		if c, ok := t.observe(m); ok {
			out = append(out, c)
		}
	}
	gone := make([]string, 0)
	for name := range t.known {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		if c, ok := t.remove(name); ok {
			out = append(out, c)
		}
	}
	return out
}

// Quorum is the side-quorum verdict: does this node's alive set hold a
// strict majority of the last full membership?
//
// The last full membership is every placer member seen alive, minus those
// that left gracefully (leaving or left, including a forced leave). A
// member that fails stays in it, even after Serf reaps it: a partition
// never shrinks the membership a side must hold a majority of, so two sides
// can never both have quorum. See docs/membership.md for the edge cases.
type Quorum struct {
	Full     []string // names in the last full membership, sorted
	Alive    int      // how many of Full are alive now
	Majority bool     // Alive > len(Full)/2 (strict majority)
}

// quorumTracker maintains the last full membership.
type quorumTracker struct {
	full map[string]struct{}
}

func newQuorumTracker() *quorumTracker {
	return &quorumTracker{full: make(map[string]struct{})}
}

// update folds the current member list into the full membership and
// returns the verdict for it.
func (q *quorumTracker) update(current []Member) Quorum {
	for _, m := range current {
		switch {
		case m.Status == StatusAlive:
			q.full[m.Name] = struct{}{}
		case m.Status.departed():
			delete(q.full, m.Name)
		}
	}
	return q.verdict(current)
}

// reset makes the full membership the currently alive members (an operator
// decision: the missing ones are gone for good).
func (q *quorumTracker) reset(current []Member) Quorum {
	q.full = make(map[string]struct{})
	return q.update(current)
}

func (q *quorumTracker) verdict(current []Member) Quorum {
	alive := 0
	for _, m := range current {
		if _, in := q.full[m.Name]; in && m.Status == StatusAlive {
			alive++
		}
	}
	full := make([]string, 0, len(q.full))
	for name := range q.full {
		full = append(full, name)
	}
	slices.Sort(full)
	return Quorum{Full: full, Alive: alive, Majority: 2*alive > len(full)}
}
