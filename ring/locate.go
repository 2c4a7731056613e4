package ring

import (
	"math/bits"
	"slices"
	"sort"
)

// Locate returns the member that owns key, or "" if the ring is empty. It
// does not allocate or lock.
func (r *Ring) Locate(key []byte) string {
	// The body of LocateHash, repeated: the compiler does not inline it,
	// and the call costs a tenth of a lookup.
	h := Hash(key)
	lf := r.leaves[h>>(r.shift&63)]
	b, frac := bits.Mul64(h<<(r.k&63), r.nb)
	if b>>1 < uint64(len(lf)) && (b+1)>>1 < uint64(len(lf)) {
		w, wp := uint32(lf[(b+1)>>1]>>((b+1)&1<<5)), uint32(lf[b>>1]>>(b&1<<5))
		if f := uint32(frac >> 32); w&tagBit != 0 && (f^w)>>topShift != 0 {
			return r.names[uint16(w^(w^wp)&-uint32(b2i(f < w)))]
		}
		return r.names[r.slotMiss(lf, h, w)]
	}
	return r.locateRest(h)
}

// LocateString is Locate for a string key.
func (r *Ring) LocateString(key string) string {
	h := HashString(key) // the body of LocateHash again, as in Locate
	lf := r.leaves[h>>(r.shift&63)]
	b, frac := bits.Mul64(h<<(r.k&63), r.nb)
	if b>>1 < uint64(len(lf)) && (b+1)>>1 < uint64(len(lf)) {
		w, wp := uint32(lf[(b+1)>>1]>>((b+1)&1<<5)), uint32(lf[b>>1]>>(b&1<<5))
		if f := uint32(frac >> 32); w&tagBit != 0 && (f^w)>>topShift != 0 {
			return r.names[uint16(w^(w^wp)&-uint32(b2i(f < w)))]
		}
		return r.names[r.slotMiss(lf, h, w)]
	}
	return r.locateRest(h)
}

// LocateHash returns the owner of the position h (h = Hash(key)), or "" if
// the ring is empty.
//
// The fast path reads two words of the header of h's leaf (see leaf.go):
// its bucket's word w and the word before, wp. With f the top 32 bits of
// h's offset in the bucket, and the cut in the top 15 bits of w, f < w
// tells the side of the cut whenever f and w differ in those bits: the
// owner is wp's slot before the cut, w's after (the select has no branch:
// it would be mispredicted half the time). A key right at the cut or in a
// bucket with more than one owner change goes to slotMiss, a key in an
// empty leaf to locateRest.
func (r *Ring) LocateHash(h uint64) string {
	lf := r.leaves[h>>(r.shift&63)]
	b, frac := bits.Mul64(h<<(r.k&63), r.nb)
	if b>>1 < uint64(len(lf)) && (b+1)>>1 < uint64(len(lf)) {
		w, wp := uint32(lf[(b+1)>>1]>>((b+1)&1<<5)), uint32(lf[b>>1]>>(b&1<<5))
		if f := uint32(frac >> 32); w&tagBit != 0 && (f^w)>>topShift != 0 {
			return r.names[uint16(w^(w^wp)&-uint32(b2i(f < w)))]
		}
		return r.names[r.slotMiss(lf, h, w)]
	}
	return r.locateRest(h)
}

// locateRest is LocateHash for a key in an empty leaf (not inlined, to
// keep the fast path short).
//
//go:noinline
func (r *Ring) locateRest(h uint64) string {
	if r.points == 0 {
		return ""
	}
	return r.names[r.slotSlow(h)]
}

// slotMiss returns the owner of h, in the non-empty leaf lf whose header
// word for h is w, when w does not answer at once: a bucket with two or
// more owner changes sends the key to scan, which starts at the bucket's
// hint and counts, without a data-dependent branch, how many of the next
// four entries lie before the key. slotSlow handles the rest (a key whose
// nearest points are in different leaves, or right at a cut).
func (r *Ring) slotMiss(lf []uint64, h uint64, w uint32) uint64 {
	if w&tagBit == 0 {
		if s, ok := scan(lf[r.hw:], h<<(r.k&63), int(w>>topShift), r.k, r.mask); ok {
			return s
		}
	}
	return r.slotSlow(h)
}

// slotFor returns the slot owning position h on a non-empty ring.
func (r *Ring) slotFor(h uint64) uint64 {
	lf := r.leaves[h>>(r.shift&63)]
	if len(lf) == 0 {
		return r.slotSlow(h)
	}
	b, frac := bits.Mul64(h<<(r.k&63), r.nb)
	w, wp := hword(lf, b+1), hword(lf, b)
	if f := uint32(frac >> 32); w&tagBit != 0 && ((f^w)>>topShift != 0 || uint16(w) == uint16(wp)) {
		if f < w {
			return uint64(uint16(wp))
		}
		return uint64(uint16(w))
	}
	return r.slotMiss(lf, h, w)
}

// scan finds the owner of key (h<<k) in e (the entries and padding of a
// leaf) from entry i (the hint of its bucket, at most the last entry):
// the nearest of the first entry not below key and the one before it, if
// both lie in the leaf and within four entries of i.
func scan(e []uint64, key uint64, i int, k uint, mask uint64) (uint64, bool) {
	c := b2i(e[i] < key) + b2i(e[i+1] < key) + b2i(e[i+2] < key) + b2i(e[i+3] < key)
	i += c
	if n := len(e) - padWords; c < 4 && uint(i-1) < uint(n-1) {
		succ, pred := e[i], e[i-1]
		k &= 63
		lo := key >> k
		owner := pred
		if (succ>>k)-lo <= lo-(pred>>k) {
			owner = succ
		}
		return owner & mask, true
	}
	return 0, false
}

func (r *Ring) slotSlow(h uint64) uint64 {
	c := r.seek(h)
	succ := c.entry()
	sp := r.pos(c.li, succ)
	c.prev()
	pred := c.entry()
	if sp-h <= h-r.pos(c.li, pred) {
		return succ & r.mask
	}
	return pred & r.mask
}

// cursor points at one entry of a non-empty ring: entry i of leaf li.
type cursor struct {
	r     *Ring
	li, i int
}

func (c *cursor) entry() uint64 { return c.r.leaves[c.li][c.r.hw+c.i] }

func (c *cursor) slot() uint64 { return c.entry() & c.r.mask }

func (c *cursor) position() uint64 { return c.r.pos(c.li, c.entry()) }

// next moves to the following point, wrapping past the top of the space.
func (c *cursor) next() {
	c.i++
	for c.i >= len(c.r.entries(c.r.leaves[c.li])) {
		c.li = (c.li + 1) & (len(c.r.leaves) - 1)
		c.i = 0
	}
}

// prev moves to the preceding point, wrapping below zero.
func (c *cursor) prev() {
	c.i--
	for c.i < 0 {
		c.li = (c.li - 1) & (len(c.r.leaves) - 1)
		c.i = len(c.r.entries(c.r.leaves[c.li])) - 1
	}
}

// seek returns a cursor at the first point at or after h (wrapping).
func (r *Ring) seek(h uint64) cursor {
	li := int(h >> r.shift)
	lf := r.leaves[li]
	if e := r.entries(lf); len(e) > 0 {
		if i := r.successor(lf, h<<r.k); i < len(e) {
			return cursor{r: r, li: li, i: i}
		}
	}
	c := cursor{r: r, li: li, i: len(r.entries(lf)) - 1}
	c.next()
	return c
}

// owner returns a cursor at the point that owns h (non-empty ring).
func (r *Ring) owner(h uint64) cursor {
	c := r.seek(h)
	sp := c.position()
	p := c
	p.prev()
	if sp-h <= h-p.position() {
		return c
	}
	return p
}

// LocateN returns up to n distinct members for key, in the order in which
// they would own it: its owner first, then the member that owns it once
// the owner has left, and so on (members by the distance of their nearest
// point to the key). It is a preference list for replicas: when the owner
// leaves or fails, the key goes to the second member, which holds a copy.
// It returns min(n, Len()) names; nil when n < 1 or the ring is empty.
func (r *Ring) LocateN(key []byte, n int) []string {
	if n < 1 || r.points == 0 {
		return nil
	}
	return r.appendLocateN(make([]string, 0, min(n, len(r.members))), Hash(key), n)
}

// AppendLocateN appends LocateN(key, n) to dst and returns the extended
// slice. It does not allocate when dst has room for the names and n ≤ 64.
func (r *Ring) AppendLocateN(dst []string, key []byte, n int) []string {
	return r.appendLocateN(dst, Hash(key), n)
}

// AppendLocateNHash is AppendLocateN for a key position h = Hash(key).
func (r *Ring) AppendLocateNHash(dst []string, h uint64, n int) []string {
	return r.appendLocateN(dst, h, n)
}

func (r *Ring) appendLocateN(dst []string, h uint64, n int) []string {
	if n < 1 || r.points == 0 {
		return dst
	}
	n = min(n, len(r.members))
	seen := newSlotSet(n, len(r.names))
	return r.appendWalk(dst, h, n, &seen)
}

// appendWalk appends, until it has appended n, the members not yet in seen
// in the order in which they would own h as the ones before them leave:
// by the distance from h of their nearest point (clockwise first on a
// tie, as for the owner), and, at one position, by name (the collision
// rule). It walks outwards from h in both directions at once.
func (r *Ring) appendWalk(dst []string, h uint64, n int, seen *slotSet) []string {
	fwd := r.seek(h)
	bwd := fwd
	bwd.prev()
	for steps := r.points - len(r.shadow); steps > 0 && n > 0; steps-- {
		if fwd.position()-h <= h-bwd.position() {
			dst, n = r.emitAt(dst, n, fwd.position(), fwd.slot(), seen)
			fwd.next()
		} else {
			dst, n = r.emitAt(dst, n, bwd.position(), bwd.slot(), seen)
			bwd.prev()
		}
	}
	return dst
}

// emitAt appends the members at position pos not yet in seen: the point's
// own (the smallest name there), then those of the points a collision
// hides at pos, by name.
func (r *Ring) emitAt(dst []string, n int, pos, slot uint64, seen *slotSet) ([]string, int) {
	if seen.add(slot) {
		dst, n = append(dst, r.names[slot]), n-1
	}
	if len(r.shadow) == 0 || n == 0 {
		return dst, n
	}
	i := sort.Search(len(r.shadow), func(i int) bool { return r.shadow[i].pos >= pos })
	var hidden []string // rare: only with 64-bit position collisions
	for ; i < len(r.shadow) && r.shadow[i].pos == pos; i++ {
		if s := uint64(r.shadow[i].slot); seen.add(s) {
			hidden = append(hidden, r.names[s])
		}
	}
	slices.Sort(hidden)
	for _, name := range hidden {
		if n == 0 {
			break
		}
		dst, n = append(dst, name), n-1
	}
	return dst, n
}

// slotSet remembers slots: in a fixed array for small sets, else a bitmap.
type slotSet struct {
	small [64]uint64
	n     int
	bits  []uint64
}

func newSlotSet(want, nslots int) slotSet {
	if want <= len(slotSet{}.small) {
		return slotSet{}
	}
	return slotSet{bits: make([]uint64, (nslots+63)/64)}
}

// add records s and reports whether it was new.
func (s *slotSet) add(x uint64) bool {
	if s.bits != nil {
		w, b := x/64, uint64(1)<<(x%64)
		if s.bits[w]&b != 0 {
			return false
		}
		s.bits[w] |= b
		return true
	}
	for _, y := range s.small[:s.n] {
		if y == x {
			return false
		}
	}
	s.small[s.n] = x
	s.n++
	return true
}
