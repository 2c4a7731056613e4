package ring

import (
	"fmt"
	"math"
	"sort"
)

// Move is a range of key hashes whose owner changed: every h with
// Start <= h <= End (both inclusive) was owned by From and is owned by To.
// Ranges never wrap: one that would run past 2^64-1 is split into a move
// ending at math.MaxUint64 and one starting at 0. From is "" when the old
// strategy had no members, To is "" when the new one has none.
type Move struct {
	Start, End uint64
	From, To   string
}

// Contains reports whether the key hash h lies in the move.
func (m Move) Contains(h uint64) bool { return m.Start <= h && h <= m.End }

// String formats the move as "[start, end] from -> to" in hex.
func (m Move) String() string {
	return fmt.Sprintf("[%016x, %016x] %s -> %s", m.Start, m.End, m.From, m.To)
}

// FindMove returns the move containing h in moves (as returned by Diff:
// sorted by Start, not overlapping), by binary search.
func FindMove(moves []Move, h uint64) (Move, bool) {
	i := sort.Search(len(moves), func(i int) bool { return moves[i].Start > h }) - 1
	if i >= 0 && moves[i].Contains(h) {
		return moves[i], true
	}
	return Move{}, false
}

// Diff returns the hash ranges whose owner differs between old and new, in
// increasing order, adjacent ranges with the same From and To merged. A key
// k moves from A to B (old.Locate(k) == A, new.Locate(k) == B, A != B)
// exactly when Hash(k) lies in a move with From A and To B. The rings may
// have different configurations.
//
// When new was derived from old (or both from a common ring) by updates,
// they share the leaves the updates did not touch, and ownership between the
// first and the last point of a run of shared leaves is the same in both:
// only the stretches between such runs are compared, so the cost is
// proportional to the points of the leaves that changed. Otherwise the cost
// is linear in the points of both rings.
func Diff(old, new *Ring) []Move {
	if old.k != new.k || old.points == 0 || new.points == 0 {
		return diffBreaks(nil, old.breaks(), new.breaks(), 0, math.MaxUint64)
	}
	var out []Move
	lo := uint64(0)
	for li := 0; li < len(old.leaves); {
		if !sameLeaf(old.leaves[li], new.leaves[li]) {
			li++
			continue
		}
		lj := li
		first, last, any := uint64(0), uint64(0), false
		for ; lj < len(old.leaves) && sameLeaf(old.leaves[lj], new.leaves[lj]); lj++ {
			if e := old.entries(old.leaves[lj]); len(e) > 0 {
				if !any {
					first, any = old.pos(lj, e[0]), true
				}
				last = old.pos(lj, e[len(e)-1])
			}
		}
		li = lj
		if !any || first < lo {
			continue
		}
		// [first, last] is owned alike: compare only [lo, first].
		out = diffBreaks(out, old.rangeBreaks(lo, first), new.rangeBreaks(lo, first), lo, first)
		lo = last
	}
	return diffBreaks(out, old.rangeBreaks(lo, math.MaxUint64), new.rangeBreaks(lo, math.MaxUint64), lo, math.MaxUint64)
}

// sameLeaf reports whether a and b are the same leaf (shared by two
// snapshots), or both empty.
func sameLeaf(a, b []uint64) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// DiffStrategies is Diff for any two strategies that map contiguous hash
// ranges to owners: *Ring and *Bounded, in any combination. Others return
// ErrNoRanges.
func DiffStrategies(old, new Strategy) ([]Move, error) {
	a, err := breaksOf(old)
	if err != nil {
		return nil, err
	}
	b, err := breaksOf(new)
	if err != nil {
		return nil, err
	}
	return diffBreaks(nil, a, b, 0, math.MaxUint64), nil
}

func breaksOf(s Strategy) (breakIter, error) {
	switch s := s.(type) {
	case *Ring:
		return s.breaks(), nil
	case *Bounded:
		return s.breaks(), nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoRanges, s.Name())
}

// breakIter yields the points where ownership may change, in increasing
// order: the first is always at 0; each owner holds from its start to the
// next start minus one (the last to math.MaxUint64).
type breakIter interface {
	next() (start uint64, owner string, ok bool)
}

// diffBreaks appends to out the moves between two break sequences over the
// hash range [lo, hi]; both sequences start with a break at lo.
func diffBreaks(out []Move, a, b breakIter, lo, hi uint64) []Move {
	pa, pb := peek{it: a}, peek{it: b}
	pa.init()
	pb.init()
	var oa, ob string
	cur := lo
	for {
		for pa.ok && pa.start == cur {
			oa = pa.owner
			pa.advance()
		}
		for pb.ok && pb.start == cur {
			ob = pb.owner
			pb.advance()
		}
		end := hi
		if pa.ok && pa.start-1 < end {
			end = pa.start - 1
		}
		if pb.ok && pb.start-1 < end {
			end = pb.start - 1
		}
		if oa != ob {
			out = appendMove(out, Move{Start: cur, End: end, From: oa, To: ob})
		}
		if end == hi {
			return out
		}
		cur = end + 1
	}
}

func appendMove(out []Move, m Move) []Move {
	if n := len(out); n > 0 && out[n-1].End+1 == m.Start && out[n-1].From == m.From && out[n-1].To == m.To {
		out[n-1].End = m.End
		return out
	}
	return append(out, m)
}

type peek struct {
	it    breakIter
	start uint64
	owner string
	ok    bool
}

func (p *peek) init()    { p.start, p.owner, p.ok = p.it.next() }
func (p *peek) advance() { p.start, p.owner, p.ok = p.it.next() }

// breaks returns the ring's break sequence over the whole space: 0 with the
// owner of 0, then the start of each point's region (halfway from the
// previous point, rounded up) in increasing order.
func (r *Ring) breaks() breakIter {
	if r.points == 0 {
		return &emptyBreaks{}
	}
	return r.rangeBreaks(0, math.MaxUint64)
}

// emptyBreaks is the break sequence of a strategy with no members.
type emptyBreaks struct{ done bool }

func (it *emptyBreaks) next() (uint64, string, bool) {
	if it.done {
		return 0, "", false
	}
	it.done = true
	return 0, "", true
}

// boundary returns where the region of the point at s starts when the
// previous point is at q: q + ceil((s-q)/2), modulo 2^64.
func boundary(q, s uint64) uint64 {
	g := s - q
	return q + g/2 + g&1
}

// rangeBreaks returns the break sequence of r restricted to [lo, hi]
// (non-empty ring): lo with its owner, then every region start in
// (lo, hi] in increasing order.
func (r *Ring) rangeBreaks(lo, hi uint64) breakIter {
	it := &rangeBreaks{r: r, lo: lo, hi: hi, left: r.points - len(r.shadow)}
	if lo < hi {
		it.c = r.seek(lo + 1)
		p := it.c
		p.prev()
		it.prevPos = p.position()
	}
	return it
}

// rangeBreaks walks the points from the first one after lo, measuring
// positions from lo+1 (d) so that the walk may wrap past 2^64-1. The region
// of that first point may start before lo; when the range spans almost the
// whole circle, that start can also lie at the top end of the range, after
// every other break: it is held back (tail) and given last.
type rangeBreaks struct {
	r       *Ring
	lo, hi  uint64
	c       cursor
	prevPos uint64
	left    int // points not yet visited
	started bool
	done    bool
	visited bool // the first point after lo was visited
	tail    *rangeBreak
}

type rangeBreak struct {
	start uint64
	owner string
}

func (it *rangeBreaks) next() (uint64, string, bool) {
	if !it.started {
		it.started = true
		return it.lo, it.r.LocateHash(it.lo), true
	}
	width := it.hi - it.lo - 1 // d of hi
	for !it.done && it.lo < it.hi && it.left > 0 {
		s := it.c.position()
		b := boundary(it.prevPos, s)
		o := it.r.names[it.c.slot()]
		first := !it.visited
		it.visited = true
		it.prevPos = s
		it.left--
		it.done = s-(it.lo+1) >= width // this point is at or past hi
		it.c.next()
		db := b - (it.lo + 1)
		switch {
		case db > width:
		case first && db > s-(it.lo+1):
			it.tail = &rangeBreak{start: b, owner: o}
		default:
			return b, o, true
		}
	}
	if t := it.tail; t != nil {
		it.tail = nil
		return t.start, t.owner, true
	}
	return 0, "", false
}

// breaks returns the partition table as a break sequence.
func (b *Bounded) breaks() breakIter {
	if len(b.owner) == 0 {
		return &emptyBreaks{}
	}
	return &boundedBreaks{b: b}
}

type boundedBreaks struct {
	b *Bounded
	p int
}

func (it *boundedBreaks) next() (uint64, string, bool) {
	b := it.b
	if it.p >= len(b.owner) {
		return 0, "", false
	}
	p := it.p
	it.p++
	for it.p < len(b.owner) && b.owner[it.p] == b.owner[p] {
		it.p++
	}
	return uint64(p) << b.pshift, b.ring.names[b.owner[p]], true
}
