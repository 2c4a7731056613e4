package ring

import (
	"math"
	"math/bits"
)

// Leaf headers (layout in leaf.go): building one, or rewriting the buckets
// an update changed.

// ptSlot is a visible point: its position and owner's slot.
type ptSlot struct {
	pos  uint64
	slot uint64
}

// headerBuilder computes leaf headers; its scratch space is reused from
// one leaf to the next.
type headerBuilder struct {
	r    *Ring
	li   int      // the leaf
	hdr  []uint64 // its header words (hw), being written
	e    []uint64 // its entries
	pred ptSlot   // the last point before the leaf (wrapping)
	succ ptSlot   // the first point after the leaf (wrapping)

	// Per bucket b0+i of the range being written: the number of owner
	// changes in it, the last one's slot and offset (top 15 bits), and
	// the number of entries before it (for hints).
	cnt   []uint32
	last  []uint32 // slot | top<<topShift, as in a word
	first []uint32
}

// fill writes into hdr (hw words) the whole header of leaf li, whose
// entries are e, given the last point before the leaf's first entry and
// the first point after its last entry, both wrapping around the circle (a
// leaf alone on the ring is its own neighbour on both sides).
func (hb *headerBuilder) fill(li int, hdr, e []uint64, pred, succ ptSlot) {
	hb.fillRange(li, hdr, e, pred, succ, 0, hb.r.nb-1)
}

// fillRange rewrites the words of buckets b0..b1 of the header hdr of leaf
// li (words b0+1..b1+1, and word 0 when b0 = 0). The other words must
// already be right for the leaf's current entries: only word b0, the owner
// entering bucket b0, is read.
func (hb *headerBuilder) fillRange(li int, hdr, e []uint64, pred, succ ptSlot, b0, b1 uint64) {
	hb.li, hb.hdr, hb.e, hb.pred, hb.succ = li, hdr, e, pred, succ
	i0, i1 := 0, len(e)
	if b0 > 0 {
		i0 = hb.firstInBucket(b0)
	}
	if b1+1 < hb.r.nb {
		i1 = hb.firstInBucket(b1 + 1)
	}
	hb.fillSpan(b0, b1, i0, i1)
}

// fillSpan is fillRange once hb holds the leaf: entries i0..i1-1 are those
// in buckets b0..b1.
func (hb *headerBuilder) fillSpan(b0, b1 uint64, i0, i1 int) {
	r := hb.r
	hb.reset(int(b1 - b0 + 1))
	start := hb.count(i0, i1, b0)
	cur := uint32(start)
	if b0 > 0 {
		cur = hword(hb.hdr, b0)
	} else {
		setHword(hb.hdr, 0, cur&0xFFFF)
	}
	resolve := len(r.names) <= maxSlots && !r.cfg.noResolve
	hb.write(cur, b0, b1, i0, resolve)
}

// bucketAt returns the bucket of entry i of the leaf held.
func (hb *headerBuilder) bucketAt(i int) uint64 {
	b, _ := hb.r.bucketOf(hb.e[i] &^ hb.r.mask)
	return b
}

// reset clears the per-bucket counts for n buckets.
func (hb *headerBuilder) reset(n int) {
	if cap(hb.cnt) < n+1 {
		hb.cnt = make([]uint32, n+1)
		hb.last = make([]uint32, n+1)
		hb.first = make([]uint32, n+1)
	}
	hb.cnt, hb.last, hb.first = hb.cnt[:n+1], hb.last[:n+1], hb.first[:n+1]
	clear(hb.cnt)
	clear(hb.first)
}

// firstInBucket returns the index of the first entry in bucket b or later.
func (hb *headerBuilder) firstInBucket(b uint64) int {
	lo, hi := 0, len(hb.e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bk, _ := hb.r.bucketOf(hb.e[m] &^ hb.r.mask); bk < b {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// point returns entry i as a point; i = -1 is the point before the leaf,
// i = len(e) the point after it.
func (hb *headerBuilder) point(i int) ptSlot {
	switch {
	case i < 0:
		return hb.pred
	case i >= len(hb.e):
		return hb.succ
	}
	return ptSlot{hb.r.pos(hb.li, hb.e[i]), hb.e[i] & hb.r.mask}
}

// count records, per bucket from b0 on, the owner changes between the
// consecutive points i0-1, i0, …, i1 (entries i0..i1-1 being the leaf's
// entries in the range) and the entries. It returns the owner of the
// leaf's first position when i0 = 0 (else 0).
func (hb *headerBuilder) count(i0, i1 int, b0 uint64) (start uint64) {
	r, e := hb.r, hb.e
	if i0 == 0 {
		start = hb.point(0).slot
	}
	// The two ends may involve the neighbouring leaves; the pairs of
	// entries in between are counted without a branch on the data.
	lo, _ := r.leafSpan(hb.li)
	if c, ok := hb.endCut(i0, lo); ok {
		if i0 == 0 {
			start = hb.point(-1).slot
		}
		hb.addCut(c, hb.point(i0).slot, b0)
	}
	// Locals, so that the stores below do not make the compiler reload
	// the ring's fields.
	k, mask, nb := r.k&63, r.mask, r.nb
	first, cnt, last := hb.first, hb.cnt, hb.last
	n := uint64(len(cnt) - 1) // buckets in the range; index n is a sink
	last = last[:len(cnt)]
	first = first[:len(cnt)]
	for i := i0; i < i1; i++ {
		a := e[i]
		bk, _ := bits.Mul64(a&^mask, nb)
		first[min(bk-b0, n)]++
		if i+1 < i1 {
			b := e[i+1]
			bk, frac := bits.Mul64(boundary(a>>k, b>>k)<<k, nb)
			d := bk - b0
			d |= uint64(b2i(a&mask == b&mask)) * n // no change: sink
			d = min(d, n)
			cnt[d]++
			last[d] = uint32(b&mask)&0xFFFF | uint32(frac>>(64-15))<<topShift
		}
	}
	if i1 > i0 {
		if c, ok := hb.endCut(i1, lo); ok {
			hb.addCut(c, hb.point(i1).slot, b0)
		}
	}
	acc := uint32(0)
	for b, c := range first {
		acc += c
		first[b] = acc - c
	}
	return start
}

// endCut returns the owner change between points i-1 and i (in-leaf
// offset shifted left by k) when one of them is outside the leaf's entries
// or i is at the edge of the counted range, and whether there is one
// inside the leaf.
func (hb *headerBuilder) endCut(i int, lo uint64) (uint64, bool) {
	r := hb.r
	p, q := hb.point(i-1), hb.point(i)
	if p.slot == q.slot {
		return 0, false
	}
	c := boundary(p.pos, q.pos) - lo
	in := c <= math.MaxUint64>>r.k
	if i == 0 {
		in = c > 0 && c <= q.pos-lo
	}
	if i == len(hb.e) {
		in = in && c > p.pos-lo
	}
	return c << r.k, in
}

func (hb *headerBuilder) addCut(x, slot, b0 uint64) {
	bk, frac := hb.r.bucketOf(x)
	if bk < b0 || bk-b0 >= uint64(len(hb.cnt)-1) {
		return
	}
	hb.cnt[bk-b0]++
	hb.last[bk-b0] = uint32(slot)&0xFFFF | uint32(frac>>(64-15))<<topShift
}

// write fills the words of buckets b0..b1 from the counts, cur (a word)
// owning the start of b0: a bucket without an owner change gets the
// owner, one with one change its cut, one with more a hint (as does every
// bucket when !resolve). (A change right at the start of a bucket counts
// as inside it: the previous word's slot is the owner just before the
// bucket.)
func (hb *headerBuilder) write(cur uint32, b0, b1 uint64, i0 int, resolve bool) {
	n := int(b1 - b0 + 1)
	cnt, last, first := hb.cnt[:n], hb.last[:n], hb.first[:n]
	hdr, maxHint := hb.hdr, min(len(hb.e)-1, maxTop)
	hints := uint32(0) // all ones: every bucket gets a hint
	if !resolve {
		hints = ^uint32(0)
	}
	cur &= 0xFFFF
	for i, c := range cnt {
		// Without branches (whether a bucket has a change is a coin flip
		// for the branch predictor): some = c > 0, many = c > 1.
		some, many := -uint32(b2i(c > 0)), -uint32(b2i(c > 1))|hints
		l := last[i]
		w := (l&some | cur&^some) | tagBit // one change, or none
		cur = l&0xFFFF&some | cur&^some
		hint := uint32(min(i0+int(first[i]), maxHint)) << topShift
		w = w&^many | (cur|hint)&many
		j := b0 + uint64(i) + 1
		s := (j & 1) << 5
		hdr[j>>1] = hdr[j>>1]&^(0xFFFFFFFF<<s) | uint64(w)<<s
	}
}
