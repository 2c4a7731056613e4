package placement

import (
	"cmp"
	"slices"
	"time"

	"github.com/placerhq/placer/ring"
)

// View is an ownership view: an immutable ring snapshot built from the
// alive, non-draining placer members this node sees, with an epoch and a
// checksum. Two nodes whose views have the same Checksum place every key
// the same way; Epoch is local (it counts this node's view changes) and
// means nothing on another node. A *View is never modified: a change makes
// a new one.
type View struct {
	// Epoch counts this node's distinct views, from 1.
	Epoch uint64
	// Checksum is the ring's checksum (ring.Ring.Checksum): the
	// cross-node comparable identity of the view.
	Checksum uint64
	// Members are the ring members with their weights, sorted by name.
	Members []ring.Member
	// Draining lists alive members left out of the ring because they are
	// handing their keys off (Leave), sorted.
	Draining []string
	// Strategy is the placement strategy and parameters the ring is built
	// with (e.g. "ring/v1024", "bounded/v1024/c1.25/p16"): the one most
	// alive members use (see Config.Strategy).
	Strategy string
	// Excluded lists alive members left out of the ring because they use
	// another strategy or parameters, sorted. It may hold this node.
	Excluded []string
	// Since is when this node adopted the view.
	Since time.Time

	ring ring.Strategy
}

// Ring returns the view's placement (immutable, safe for concurrent use):
// a *ring.Ring or a *ring.Bounded, per Strategy.
func (v *View) Ring() ring.Strategy { return v.ring }

// Owner returns the member that owns key in this view, or "" if the view
// has no members.
func (v *View) Owner(key string) string { return v.ring.LocateString(key) }

// OwnerN returns up to n distinct members for key, its owner first (a
// replica preference list; see ring.Ring.LocateN).
func (v *View) OwnerN(key string, n int) []string { return v.ring.LocateN([]byte(key), n) }

// Has reports whether name is a ring member of the view.
func (v *View) Has(name string) bool { return v.ring.Has(name) }

// memberInfo is one alive placer member as the view builder needs it.
type memberInfo struct {
	name     string
	addr     string // placer transport address
	weight   int
	draining bool
	proto    int
	strategy string // its strategySpec's text; "" for the builder's own (static views)
}

// viewInput is what a view is built from: the alive members and the side
// quorum verdict (membership's, or a test's).
type viewInput struct {
	alive  []memberInfo
	quorum bool // this side holds a strict majority (and has joined)
}

// pastRing is a ring a previous owner of a key may have used: a superseded
// view, or the ring of the members that were added at a view change (the
// other side of a healed partition, or the whole cluster for a node that
// just joined). It is consulted until expires.
type pastRing struct {
	ring    ring.Strategy
	expires time.Time
}

// snapshot is everything the router reads about the view, swapped
// atomically as a whole: readers never lock.
type snapshot struct {
	view   *View
	wide   ring.Strategy       // alive members including draining ones
	alive  map[string]struct{} // alive members (any ring status)
	past   []pastRing          // newest first
	quorum bool
}

// maxPast bounds snapshot.past.
const maxPast = 16

// owner is the key's owner in the current view.
func (s *snapshot) owner(key string) string { return s.view.Owner(key) }

// isAlive reports whether name is an alive member.
func (s *snapshot) isAlive(name string) bool {
	_, ok := s.alive[name]
	return ok
}

// candidates lists the alive members other than self that may host key
// although self owns it now: its owner in the wide ring (a draining member),
// then in each past ring still in its window, newest first. Empty in a
// cluster that has not changed for Config.PullWindow.
func (s *snapshot) candidates(self, key string, now time.Time) []string {
	var out []string
	add := func(o string) {
		if o != "" && o != self && s.isAlive(o) && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	add(s.wide.LocateString(key))
	for _, p := range s.past {
		if now.Before(p.expires) {
			add(p.ring.LocateString(key))
		}
	}
	return out
}

// ringMembers splits the alive members into ring members and draining
// ones, for the strategy spec chosen (own: this node's): members speaking
// another protocol version are left out of both, members with another spec
// are excluded. The local node counts as draining when selfDraining is set.
func ringMembers(alive []memberInfo, self string, selfDraining bool, chosen, own string) (members, wide []ring.Member, draining, excluded []string) {
	for _, m := range alive {
		if m.proto != protocolVersion {
			continue
		}
		if spec := cmp.Or(m.strategy, own); spec != chosen {
			excluded = append(excluded, m.name)
			continue
		}
		rm := ring.Member{Name: m.name, Weight: m.weight}
		wide = append(wide, rm)
		if m.draining || (m.name == self && selfDraining) {
			draining = append(draining, m.name)
			continue
		}
		members = append(members, rm)
	}
	byName := func(a, b ring.Member) int { return compareStrings(a.Name, b.Name) }
	slices.SortFunc(members, byName)
	slices.SortFunc(wide, byName)
	slices.Sort(draining)
	slices.Sort(excluded)
	return members, wide, draining, excluded
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// added returns the members of next that are not in prev.
func added(prev, next []ring.Member) []ring.Member {
	var out []ring.Member
	for _, m := range next {
		if !slices.ContainsFunc(prev, func(p ring.Member) bool { return p.Name == m.Name }) {
			out = append(out, m)
		}
	}
	return out
}

// nextSnapshot builds the snapshot that follows cur (nil for the first)
// for input in, and reports whether the placement changed. own is this
// node's strategy spec (its text form); the ring is built with the spec
// most alive members use (clusterSpec). When the placement is the same,
// the view keeps its epoch (only Draining, Excluded, liveness and quorum
// are refreshed). window is Config.PullWindow.
func nextSnapshot(cur *snapshot, in viewInput, self string, selfDraining bool, own string, now time.Time, window time.Duration) (*snapshot, bool, error) {
	chosen := clusterSpec(in.alive, own)
	spec, err := parseSpec(chosen)
	if err != nil {
		return nil, false, err
	}
	members, wideMembers, draining, excluded := ringMembers(in.alive, self, selfDraining, chosen, own)
	r, err := spec.build(members)
	if err != nil {
		return nil, false, err
	}
	wide := r
	if len(wideMembers) != len(members) {
		if wide, err = spec.build(wideMembers); err != nil {
			return nil, false, err
		}
	}
	next := &snapshot{wide: wide, alive: map[string]struct{}{}, quorum: in.quorum}
	for _, m := range in.alive {
		next.alive[m.name] = struct{}{}
	}
	if cur != nil && cur.view.Checksum == r.Checksum() {
		v := cur.view
		if !slices.Equal(v.Draining, draining) || !slices.Equal(v.Excluded, excluded) {
			cp := *v
			cp.Draining, cp.Excluded = draining, excluded
			v = &cp
		}
		next.view, next.past = v, cur.past
		return next, false, nil
	}
	next.view = &View{Checksum: r.Checksum(), Members: members, Draining: draining, Strategy: chosen, Excluded: excluded, Since: now, ring: r, Epoch: 1}
	if cur == nil {
		return next, true, nil
	}
	next.view.Epoch = cur.view.Epoch + 1
	next.past, err = nextPast(cur, members, self, spec, now, window)
	return next, true, err
}

// emptySnapshot is the snapshot before the first view: no members, epoch
// 0. Requests routed to a node in this state find no owner, and its
// handoff service answers "not yet".
func emptySnapshot(own string) *snapshot {
	spec, err := parseSpec(own)
	if err != nil {
		panic("placement: the own strategy must parse: " + err.Error()) // the config was validated
	}
	r, err := spec.build(nil)
	if err != nil {
		panic("placement: an empty ring must build: " + err.Error())
	}
	return &snapshot{view: &View{Checksum: r.Checksum(), Strategy: own, ring: r}, wide: r, alive: map[string]struct{}{}}
}

// nextPast records the superseded view and, if members other than self
// were added, the placement of those members, newest first, dropping
// expired entries.
func nextPast(cur *snapshot, members []ring.Member, self string, spec strategySpec, now time.Time, window time.Duration) ([]pastRing, error) {
	var out []pastRing
	add := slices.DeleteFunc(added(cur.view.Members, members), func(m ring.Member) bool { return m.Name == self })
	if len(add) > 0 {
		r, err := spec.build(add)
		if err != nil {
			return nil, err
		}
		out = append(out, pastRing{ring: r, expires: now.Add(window)})
	}
	if cur.view.ring.Len() > 0 {
		out = append(out, pastRing{ring: cur.view.ring, expires: now.Add(window)})
	}
	for _, p := range cur.past {
		if now.Before(p.expires) && len(out) < maxPast {
			out = append(out, p)
		}
	}
	return out, nil
}
