package ring

import (
	"fmt"
	"math"
	"slices"
)

// New returns a ring holding members. It fails on an invalid config, an
// empty or over-long name, a weight outside 1..MaxWeight, a duplicate name,
// or more than MaxPoints points. A ring with no members is valid: every
// lookup on it returns "".
func New(cfg Config, members ...Member) (*Ring, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ms, err := memberSet(members)
	if err != nil {
		return nil, err
	}
	if err := checkPoints(cfg, ms); err != nil {
		return nil, err
	}
	return build(cfg, ms), nil
}

func checkPoints(cfg Config, ms []Member) error {
	if p := totalWeight(ms) * cfg.VNodes; p > MaxPoints {
		return fmt.Errorf("%w: %d points (weight sum × VNodes), at most %d", ErrTooLarge, p, MaxPoints)
	}
	return nil
}

// build makes a ring from scratch; ms is valid and sorted by name. Slot i
// is members[i].
//
// The points are bucket-sorted by leaf into one backing array: hash every
// point once into pos (counting points per leaf), lay the leaves out by
// those counts, scatter the packed entries, then sort each leaf by a
// counting pass on its next sortBits bits and an insertion sort of the
// (nearly sorted) result, and fill every header. Leaves built here share
// the backing array, which stays alive until every one of them has been
// replaced by later updates.
func build(cfg Config, ms []Member) *Ring {
	r := &Ring{cfg: cfg, members: ms, mslot: make([]uint32, len(ms)), names: make([]string, len(ms))}
	for i, m := range ms {
		r.mslot[i] = uint32(i)
		r.names[i] = m.Name
		r.points += m.Weight * cfg.VNodes
	}
	r.setK(cfg.chooseK(r.points, len(ms)))
	r.setLayout()
	r.leaves = make([][]uint64, 1<<r.k)
	r.sum = r.computeChecksum()
	if r.points == 0 {
		return r
	}
	pos, start := r.hashAll()
	all := make([]uint64, start[len(start)-1])
	r.scatter(pos, start, all)
	b := resolver{r: r}
	tmp := pos[:0] // reuse: the positions are no longer needed
	for li := range r.leaves {
		lo, hi := start[li], start[li+1]
		if hi == lo {
			continue
		}
		lf := all[lo:hi:hi]
		e := lf[r.hw : len(lf)-padWords]
		tmp = sortEntries(e, tmp[:len(e)])
		if hasDup(e, r.k) {
			e = b.resolve(li, e)
			lf = lf[:r.hw+len(e)+padWords]
		}
		for i := len(lf) - padWords; i < len(lf); i++ {
			lf[i] = math.MaxUint64
		}
		r.leaves[li] = lf
	}
	slices.SortFunc(b.shadow, cmpShadow)
	r.shadow = b.shadow
	r.fillAllHeaders()
	return r
}

// fillAllHeaders fills the header of every non-empty leaf.
func (r *Ring) fillAllHeaders() {
	first, last := -1, -1
	for li, lf := range r.leaves {
		if len(lf) > 0 {
			if first < 0 {
				first = li
			}
			last = li
		}
	}
	if first < 0 {
		return
	}
	hb := headerBuilder{r: r}
	prev := last
	for li := first; ; {
		next := r.nextLeaf(li)
		lf := r.leaves[li]
		hb.fill(li, lf[:r.hw], r.entries(lf), r.lastPoint(prev), r.firstPoint(next))
		if li == last {
			return
		}
		prev, li = li, next
	}
}

// sortBits is the number of position bits (after the leaf bits) that the
// counting pass of a leaf sort orders by.
const sortBits = 6

// sortEntries sorts e, using tmp (len(tmp) == len(e)) as scratch.
func sortEntries(e, tmp []uint64) []uint64 {
	var cnt [1 << sortBits]int
	for _, x := range e {
		cnt[x>>(64-sortBits)]++
	}
	acc := 0
	for s, c := range cnt {
		cnt[s] = acc
		acc += c
	}
	for _, x := range e {
		s := x >> (64 - sortBits)
		tmp[cnt[s]] = x
		cnt[s]++
	}
	copy(e, tmp)
	for i := 1; i < len(e); i++ {
		x := e[i]
		j := i
		for j > 0 && e[j-1] > x {
			e[j] = e[j-1]
			j--
		}
		e[j] = x
	}
	return tmp
}

// hasDup reports whether sorted entries e hold two points at one position.
func hasDup(e []uint64, k uint) bool {
	for i := 1; i < len(e); i++ {
		if e[i]>>k == e[i-1]>>k {
			return true
		}
	}
	return false
}

// hashAll returns every point position (member i's points are consecutive,
// in member order) and the start of each leaf in the backing array
// (start[li] .. start[li+1], header and padding included; start has 2^k+1
// items).
func (r *Ring) hashAll() (pos []uint64, start []int) {
	pos = make([]uint64, r.points)
	start = make([]int, len(r.leaves)+1)
	mask, shift := r.cfg.posMask(), r.shift&63
	o := 0
	for _, m := range r.members {
		h := newVnodeHasher(m.Name)
		n := m.Weight * r.cfg.VNodes
		ps := pos[o : o+n]
		for j := range ps {
			p := h.sum(uint32(j)) & mask
			ps[j] = p
			start[p>>shift]++
		}
		o += n
	}
	total := 0
	for li, c := range start[:len(r.leaves)] {
		start[li] = total
		if c > 0 {
			total += r.hw + c + padWords
		}
	}
	start[len(r.leaves)] = total
	return pos, start
}

// scatter writes the packed entry of every point into its leaf's part of
// all, after the header.
func (r *Ring) scatter(pos []uint64, start []int, all []uint64) {
	next := make([]int, len(r.leaves))
	for li := range next {
		next[li] = start[li] + r.hw
	}
	o := 0
	for slot, m := range r.members {
		n := m.Weight * r.cfg.VNodes
		for _, p := range pos[o : o+n] {
			li := p >> r.shift
			all[next[li]] = p<<r.k | uint64(slot)
			next[li]++
		}
		o += n
	}
}

// resolver removes duplicate positions from sorted leaf entries.
type resolver struct {
	r      *Ring
	shadow []shadowPt
}

// resolve compacts e (sorted entries of leaf li) so that each position
// appears once: of the points at one position, the one whose owner has the
// smallest name stays (for two points of the same member, either); the
// others go to the shadow list. It returns the compacted prefix of e.
func (b *resolver) resolve(li int, e []uint64) []uint64 {
	r := b.r
	out := 0
	for i := 0; i < len(e); {
		j := i + 1
		for j < len(e) && e[j]>>r.k == e[i]>>r.k {
			j++
		}
		w := i
		for x := i + 1; x < j; x++ {
			if r.names[e[x]&r.mask] < r.names[e[w]&r.mask] {
				w = x
			}
		}
		for x := i; x < j; x++ {
			if x != w {
				b.shadow = append(b.shadow, shadowPt{pos: r.pos(li, e[x]), slot: uint32(e[x] & r.mask)})
			}
		}
		e[out] = e[w]
		out++
		i = j
	}
	return e[:out]
}
