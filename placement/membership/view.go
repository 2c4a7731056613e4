package membership

import "slices"

// View is a published snapshot of the placer membership. Views are shared
// between subscribers: treat every slice and map in one as read-only.
type View struct {
	// Version grows by one with every published View (a View is
	// published only when something changed). Views from one Membership
	// are totally ordered by it.
	Version uint64
	// Members are all placer members Serf lists, sorted by name, in any
	// status.
	Members []Member
	// Alive are the alive members, sorted by name: the ring candidates.
	Alive []Member
	// Changes lists what changed since the previous View this subscriber
	// received, oldest first. When a subscriber falls behind, the Views
	// it missed are folded into the next one, so no change is lost (up to
	// MaxPendingChanges, beyond which the oldest are dropped and counted in
	// ChangesDropped). The first View a subscriber gets has no Changes: it
	// is the baseline.
	Changes []Change
	// ChangesDropped counts changes dropped from Changes because the
	// subscriber fell more than MaxPendingChanges behind.
	ChangesDropped int
	// Heals is the number of ChangeRejoin changes seen since Start: a
	// subscriber that only compares the latest View with its last one can
	// tell a heal happened when it grew.
	Heals uint64
	// Quorum is the side-quorum verdict for Alive.
	Quorum Quorum

	// ownChanges is set on a View built by fold: its Changes slice belongs
	// to one subscriber's channel alone and may be appended to in place.
	ownChanges bool
}

// MaxPendingChanges bounds View.Changes for a subscriber that does not
// read: beyond it the oldest changes are dropped (View.ChangesDropped).
const MaxPendingChanges = 4096

// offer puts v into ch with latest-value-wins semantics: ch has capacity 1;
// if it still holds an unread View, that View is taken out and its Changes
// are prepended to v's. It never blocks. Only one goroutine (the publisher)
// may call offer for a given ch, and nobody else may send on ch.
func offer(ch chan View, v View) {
	select {
	case ch <- v:
		return
	default:
	}
	select {
	case old := <-ch:
		v = fold(old, v)
	default: // the reader took it meanwhile; ch is empty now
	}
	select {
	case ch <- v:
	default: // unreachable: we are the only sender and ch was just emptied
	}
}

// fold merges an unread View into its successor. The published View's
// Changes slice is shared by all subscribers, so the first fold copies it;
// later folds for the same subscriber append in place (amortized O(1)).
func fold(old, v View) View {
	changes := old.Changes
	if !old.ownChanges {
		changes = slices.Clip(slices.Clone(old.Changes))
	}
	changes = append(changes, v.Changes...)
	v.ChangesDropped += old.ChangesDropped
	if over := len(changes) - MaxPendingChanges; over > 0 {
		changes = changes[over:]
		v.ChangesDropped += over
	}
	v.Changes, v.ownChanges = changes, true
	return v
}
