package ring

import (
	"cmp"
	"fmt"
	"slices"
)

// Add returns a ring that also holds members. The receiver is unchanged.
func (r *Ring) Add(members ...Member) (*Ring, error) {
	cs := make([]Change, len(members))
	for i, m := range members {
		cs[i] = AddChange(m)
	}
	return r.Apply(cs...)
}

// Remove returns a ring without the named members. The receiver is
// unchanged. Removing a member that is not in the ring is an error
// (ErrUnknownMember).
func (r *Ring) Remove(names ...string) (*Ring, error) {
	cs := make([]Change, len(names))
	for i, n := range names {
		cs[i] = RemoveChange(n)
	}
	return r.Apply(cs...)
}

// SetWeight returns a ring in which the member called name has weight w.
// Only the points between the old and the new weight are added or removed,
// so keys move only to (or only from) that member.
func (r *Ring) SetWeight(name string, w int) (*Ring, error) {
	return r.Apply(SetWeightChange(name, w))
}

// Apply returns a ring with changes applied in order, or an error and no
// ring if any change is invalid (the batch is all or nothing). The result is
// the same ring, point for point, as New with the resulting member set; only
// the leaves that hold an added or removed point are rebuilt.
func (r *Ring) Apply(changes ...Change) (*Ring, error) {
	ms, err := applyChanges(r.members, changes)
	if err != nil {
		return nil, err
	}
	if err := checkPoints(r.cfg, ms); err != nil {
		return nil, err
	}
	return r.update(ms), nil
}

// delta is the net effect of a batch on one member: points with index in
// [from, to) are added (add) or removed (!add).
type delta struct {
	name     string
	slot     uint32
	from, to int
	add      bool
}

// update returns the ring for member set ms (valid, sorted by name).
func (r *Ring) update(ms []Member) *Ring {
	n := &Ring{cfg: r.cfg, members: ms, shadow: r.shadow}
	deltas := n.assignSlots(r)
	if len(deltas) == 0 && slices.Equal(ms, r.members) {
		return r
	}
	for _, d := range deltas {
		if d.add {
			n.points += d.to - d.from
		} else {
			n.points -= d.to - d.from
		}
	}
	n.points += r.points
	n.sum = n.computeChecksum()
	k := n.cfg.chooseK(n.points, len(n.names))
	if k > r.k+1 || k+1 < r.k || 1<<r.k < len(n.names) {
		return build(r.cfg, ms) // too far from the leaf size aimed for: re-chunk
	}
	n.setK(r.k)
	n.setBuckets(r.nb)
	if !n.layoutFits(n.points) || len(n.names) > maxSlots || len(r.names) > maxSlots {
		// The bucket count no longer suits, or slots do not fit the
		// header words (more than 2^16 members: words would mix 16-bit
		// slots and hints): build afresh.
		return build(r.cfg, ms)
	}
	adds, dels := n.points2(deltas)
	n.leaves = slices.Clone(r.leaves)
	n.rewrite(adds, dels, r)
	return n
}

// assignSlots fills n.mslot and n.names from the old ring r and returns the
// per-member point changes. A member keeps its slot; a removed member's slot
// becomes free only after this batch (so that within one update a slot
// number means one member); an added member takes the lowest slot that was
// already free in r, or a new one.
func (n *Ring) assignSlots(r *Ring) []delta {
	n.names = slices.Clone(r.names)
	n.mslot = make([]uint32, len(n.members))
	free := freeSlots(r.names)
	var ds []delta
	v := r.cfg.VNodes
	i, j := 0, 0
	for i < len(r.members) || j < len(n.members) {
		var c int
		switch {
		case i == len(r.members):
			c = 1
		case j == len(n.members):
			c = -1
		default:
			c = cmp.Compare(r.members[i].Name, n.members[j].Name)
		}
		switch {
		case c < 0: // removed
			old := r.members[i]
			ds = append(ds, delta{name: old.Name, slot: r.mslot[i], from: 0, to: old.Weight * v})
			n.names[r.mslot[i]] = ""
			i++
		case c > 0: // added
			m := n.members[j]
			var s uint32
			if len(free) > 0 {
				s, free = free[0], free[1:]
			} else {
				s = uint32(len(n.names))
				n.names = append(n.names, "")
			}
			n.names[s] = m.Name
			n.mslot[j] = s
			ds = append(ds, delta{name: m.Name, slot: s, from: 0, to: m.Weight * v, add: true})
			j++
		default:
			old, m := r.members[i], n.members[j]
			n.mslot[j] = r.mslot[i]
			if old.Weight != m.Weight {
				lo, hi := min(old.Weight, m.Weight)*v, max(old.Weight, m.Weight)*v
				ds = append(ds, delta{name: m.Name, slot: r.mslot[i], from: lo, to: hi, add: m.Weight > old.Weight})
			}
			i++
			j++
		}
	}
	// Free slots of removed members; trailing free slots are dropped so
	// the slot table does not grow without bound.
	for len(n.names) > 0 && n.names[len(n.names)-1] == "" {
		n.names = n.names[:len(n.names)-1]
	}
	return ds
}

func freeSlots(names []string) []uint32 {
	var out []uint32
	for s, name := range names {
		if name == "" {
			out = append(out, uint32(s))
		}
	}
	return out
}

// point is a position with its owner's slot.
type point struct {
	pos  uint64
	slot uint32
}

func cmpPoint(a, b point) int {
	if c := cmp.Compare(a.pos, b.pos); c != 0 {
		return c
	}
	return cmp.Compare(a.slot, b.slot)
}

// points2 hashes the points of every delta and returns the added and the
// removed points, each sorted by (position, slot).
func (n *Ring) points2(ds []delta) (adds, dels []point) {
	mask := n.cfg.posMask()
	for _, d := range ds {
		h := newVnodeHasher(d.name)
		for i := d.from; i < d.to; i++ {
			p := point{pos: h.sum(uint32(i)) & mask, slot: d.slot}
			if d.add {
				adds = append(adds, p)
			} else {
				dels = append(dels, p)
			}
		}
	}
	sortPoints(adds)
	sortPoints(dels)
	return adds, dels
}

// rewrite rebuilds, in n.leaves (a copy of the directory of old), every
// leaf that gains or loses a point, the shadow list, and the headers.
func (n *Ring) rewrite(adds, dels []point, old *Ring) {
	u := updater{n: n, oldShadow: n.shadow}
	for len(adds) > 0 || len(dels) > 0 {
		li := n.changedLeaf(adds, dels)
		na := countInLeaf(n, adds, li)
		nd := countInLeaf(n, dels, li)
		u.leaf(li, adds[:na], dels[:nd])
		adds, dels = adds[na:], dels[nd:]
	}
	u.finishShadow()
	n.refreshHeaders(u.changed, old)
}

// changedLeaf returns the leaf of the first added or removed point.
func (n *Ring) changedLeaf(adds, dels []point) int {
	switch {
	case len(adds) == 0:
		return int(dels[0].pos >> n.shift)
	case len(dels) == 0:
		return int(adds[0].pos >> n.shift)
	}
	return int(min(adds[0].pos, dels[0].pos) >> n.shift)
}

func countInLeaf(n *Ring, ps []point, li int) int {
	i := 0
	for i < len(ps) && int(ps[i].pos>>n.shift) == li {
		i++
	}
	return i
}

// updater carries the state of one rewrite.
type updater struct {
	n         *Ring
	oldShadow []shadowPt // the old ring's shadow list, consumed in order
	newShadow []shadowPt
	cand      []uint64 // scratch: candidate entries of the leaf being rebuilt
	tmp       []uint64
	ins       []int // scratch: output indices of inserted entries
	res       resolver
	changed   []leafChange // leaves rebuilt, increasing
}

// leafChange is the change of one leaf in an update: the points added to
// and removed from it (sorted), or slow: the leaf was rebuilt from scratch
// (collisions involved).
type leafChange struct {
	li         int
	adds, dels []point
	slow       bool
}

// leaf rebuilds leaf li: its old entries minus dels plus adds. A leaf with
// shadowed points, or whose result holds two points at one position, takes
// the general path (leafSlow, finish).
func (u *updater) leaf(li int, adds, dels []point) {
	n := u.n
	u.changed = append(u.changed, leafChange{li: li, adds: adds, dels: dels})
	lo, hi := n.leafSpan(li)
	// Shadowed points of untouched leaves before this one carry over.
	for len(u.oldShadow) > 0 && u.oldShadow[0].pos < lo {
		u.newShadow = append(u.newShadow, u.oldShadow[0])
		u.oldShadow = u.oldShadow[1:]
	}
	if len(u.oldShadow) > 0 && u.oldShadow[0].pos <= hi {
		u.changed[len(u.changed)-1].slow = true
		u.leafSlow(li, adds, dels)
		return
	}
	old := n.leaves[li]
	size := len(n.entries(old)) - len(dels) + len(adds)
	if size == 0 {
		u.subtract(slices.Clone(n.entries(old)), dels) // checks every deleted point was there
		n.leaves[li] = nil
		return
	}
	lf := n.allocLeaf(size)
	if !u.spliceLeaf(li, lf, old, adds, dels) {
		return // collision: finish stored the leaf
	}
	n.leaves[li] = lf
}

// spliceLeaf writes into lf (sized for the result) the entries of old
// without dels and with adds, copying the runs between them (the header is
// filled later). If an added point lands on an occupied position it hands
// the entries to finish and returns false.
func (u *updater) spliceLeaf(li int, lf, old []uint64, adds, dels []point) bool {
	n := u.n
	src := n.entries(old)
	out := n.entries(lf)
	ins := u.ins[:0]
	o, prev, ai, di := 0, 0, 0, 0
	for ai < len(adds) || di < len(dels) {
		del := di < len(dels) && (ai == len(adds) || n.pack(dels[di]) < n.pack(adds[ai]))
		var e uint64
		if del {
			e, di = n.pack(dels[di]), di+1
		} else {
			e, ai = n.pack(adds[ai]), ai+1
		}
		idx, found := slices.BinarySearch(src[prev:], e)
		if del && !found {
			panic(fmt.Sprintf("ring: broken invariant: removed point %x not found in leaf %d", n.pos(li, e), li))
		}
		o += copy(out[o:], src[prev:prev+idx])
		prev += idx
		if del {
			prev++
		} else {
			out[o] = e
			ins = append(ins, o)
			o++
		}
	}
	copy(out[o:], src[prev:])
	u.ins = ins
	for _, x := range ins {
		if (x > 0 && out[x]>>n.k == out[x-1]>>n.k) || (x+1 < len(out) && out[x]>>n.k == out[x+1]>>n.k) {
			u.changed[len(u.changed)-1].slow = true
			u.finish(li, out)
			return false
		}
	}
	return true
}

// leafSlow rebuilds leaf li from its entries and shadowed points, minus dels,
// plus adds, resolving every collision again.
func (u *updater) leafSlow(li int, adds, dels []point) {
	n := u.n
	_, hi := n.leafSpan(li)
	c := append(u.cand[:0], n.entries(n.leaves[li])...)
	for len(u.oldShadow) > 0 && u.oldShadow[0].pos <= hi {
		c = append(c, n.pack(point(u.oldShadow[0])))
		u.oldShadow = u.oldShadow[1:]
	}
	slices.Sort(c)
	c = u.subtract(c, dels)
	c = u.merge(c, adds)
	u.finish(li, c)
	u.cand = c
}

// finish resolves collisions in the sorted candidates c and stores leaf li.
func (u *updater) finish(li int, c []uint64) {
	u.res = resolver{r: u.n, shadow: u.newShadow}
	c = u.res.resolve(li, c)
	u.newShadow = u.res.shadow
	u.n.leaves[li] = u.n.newLeaf(c)
}

func (r *Ring) pack(p point) uint64 { return p.pos<<r.k | uint64(p.slot) }

// subtract removes dels (a multiset) from the sorted entries c in place.
// Every deleted point must be present: it was added by an earlier update.
func (u *updater) subtract(c []uint64, dels []point) []uint64 {
	if len(dels) == 0 {
		return c
	}
	n := u.n
	out, j := 0, 0
	for _, e := range c {
		if j < len(dels) && e == n.pack(dels[j]) {
			j++
			continue
		}
		c[out] = e
		out++
	}
	if j != len(dels) {
		panic(fmt.Sprintf("ring: broken invariant: %d removed points not found in leaf", len(dels)-j))
	}
	return c[:out]
}

// merge returns the sorted union of entries c and points adds.
func (u *updater) merge(c []uint64, adds []point) []uint64 {
	if len(adds) == 0 {
		return c
	}
	n := u.n
	out := u.tmp[:0]
	i := 0
	for _, a := range adds {
		e := n.pack(a)
		for i < len(c) && c[i] < e {
			out = append(out, c[i])
			i++
		}
		out = append(out, e)
	}
	out = append(out, c[i:]...)
	u.tmp = c[:0]
	return out
}

func (u *updater) finishShadow() {
	u.newShadow = append(u.newShadow, u.oldShadow...)
	slices.SortFunc(u.newShadow, cmpShadow)
	if len(u.newShadow) == 0 {
		u.newShadow = nil
	}
	u.n.shadow = u.newShadow
}

// sortPoints sorts by (position, slot): two counting passes on the top 16
// bits of the position (least significant byte first), then an insertion
// sort, which only has to order points sharing their top 16 bits.
func sortPoints(ps []point) {
	if len(ps) < 64 {
		slices.SortFunc(ps, cmpPoint)
		return
	}
	tmp := make([]point, len(ps))
	src, dst := ps, tmp
	for _, shift := range []uint{48, 56} {
		var at [257]int
		for _, p := range src {
			at[(p.pos>>shift)&0xff+1]++
		}
		for b := 1; b < len(at); b++ {
			at[b] += at[b-1]
		}
		for _, p := range src {
			b := (p.pos >> shift) & 0xff
			dst[at[b]] = p
			at[b]++
		}
		src, dst = dst, src
	}
	for i := 1; i < len(ps); i++ {
		x := ps[i]
		j := i
		for j > 0 && cmpPoint(ps[j-1], x) > 0 {
			ps[j] = ps[j-1]
			j--
		}
		ps[j] = x
	}
}
