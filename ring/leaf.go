package ring

import (
	"math"
	"math/bits"
)

// Leaf layout.
//
// The 64-bit hash space is cut into 2^k equal leaves by the top k bits of a
// position. A non-empty leaf is one []uint64, immutable once a Ring holds
// it, so snapshots share every leaf an update did not touch: r.hw words of
// header, the leaf's points as packed entries, strictly increasing, then
// padWords words of padding (all ones):
//
//	entry = position<<k | slot
//
// The shift drops the k position bits that every point of the leaf shares
// and leaves k low bits for the owner's slot (k is always chosen so that
// every slot fits). Comparing entries compares positions; comparing an entry
// with key<<k tells whether the point lies before the key.
//
// Header: the leaf is cut into r.nb equal buckets (a key's bucket and its
// offset in the bucket are the high and low words of (key<<k) × nb, see
// bucketOf), and the header holds nb+1 32-bit words, two per uint64 (word
// j in the low half of lf[j/2] when j is even, see hword): word 0 gives the
// owner of the leaf's first position, word j+1 describes bucket j. An
// owner change is a region boundary between two consecutive points of
// different members (see boundary). Each word is
//
//	slot | tag<<16 | top<<17    (16 + 1 + 15 bits)
//
// where slot is the member owning the end of the bucket (the next bucket
// starts with it), and
//
//   - tag = 1: at most one owner change in the bucket, where the top 15
//     bits of the in-bucket offset reach top (the cut; 0 when there is no
//     change, and then the previous word's slot is this word's). A key
//     whose offset has top bits below the cut belongs to the previous
//     word's slot, above it to this word's slot, and equal to it (one key
//     in 2^15 of the bucket) to whoever the exact path says;
//   - tag = 0: two or more owner changes; top is the index of the first
//     entry in or after the bucket (at most the last entry's, and
//     saturated at 2^15−1), where the exact path starts its scan. Word 0
//     is always of this kind.
//
// A ring with more than 2^16 slots has no tag-1 words (and is rebuilt
// rather than patched on every update). The header is a
// function of the leaf's entries and of the points just before and after
// the leaf, so an update rebuilds the header of every leaf it touches and
// of the non-empty leaves on either side (see refreshHeaders).
//
// An empty leaf is nil.
const (
	padWords = 3 // the exact path reads up to three words past the last entry

	// bucketsPerPoint is the number of header buckets a build gives each
	// point: 6 bytes of header per point at 1.5, for which about 91% of
	// keys land in a bucket with at most one owner change (measured:
	// TestHeaderResolvesMostKeys; 87% at 1.25, and a lookup about 1.5 ns
	// slower at 10 members).
	bucketsPerPoint = 1.5
	// maxBuckets caps the buckets per leaf.
	maxBuckets = 1 << 12

	tagBit   = 1 << 16
	topShift = 17
	maxTop   = 1<<15 - 1
	maxSlots = 1 << 16 // rings with more slots have no tag-1 words
)

// entries returns the packed entries of a leaf.
func (r *Ring) entries(lf []uint64) []uint64 {
	if len(lf) == 0 {
		return nil
	}
	return lf[r.hw : len(lf)-padWords]
}

// allocLeaf returns a leaf with room for n entries, padding written.
func (r *Ring) allocLeaf(n int) []uint64 {
	lf := make([]uint64, r.hw+n+padWords)
	for i := r.hw + n; i < len(lf); i++ {
		lf[i] = math.MaxUint64
	}
	return lf
}

// newLeaf returns a leaf holding a copy of es (nil if there are none), its
// header not filled.
func (r *Ring) newLeaf(es []uint64) []uint64 {
	if len(es) == 0 {
		return nil
	}
	lf := r.allocLeaf(len(es))
	copy(lf[r.hw:], es)
	return lf
}

// hword returns header word j of leaf lf.
func hword(lf []uint64, j uint64) uint32 {
	return uint32(lf[j>>1] >> ((j & 1) << 5))
}

// setHword sets header word j of hdr (the header words of a leaf).
func setHword(hdr []uint64, j uint64, w uint32) {
	s := (j & 1) << 5
	hdr[j>>1] = hdr[j>>1]&^(0xFFFFFFFF<<s) | uint64(w)<<s
}

// setLayout sets the bucket count and header size of a ring whose points
// and k are set: about bucketsPerPoint buckets per point (points / 2^k per
// leaf).
func (r *Ring) setLayout() {
	r.setBuckets(idealBuckets(r.cfg.ratio(), r.points, r.k))
}

func (r *Ring) setBuckets(nb uint64) {
	r.nb = nb
	r.hw = int(nb+2) / 2
}

func (c Config) ratio() float64 {
	if c.bucketRatio > 0 {
		return c.bucketRatio
	}
	return bucketsPerPoint
}

func idealBuckets(ratio float64, points int, k uint) uint64 {
	nb := math.Round(ratio * float64(points) / math.Exp2(float64(k)))
	return uint64(min(max(nb, 1), maxBuckets))
}

// layoutFits reports whether the bucket count of r still suits a ring of
// points points: at most 1.5 times off the ideal.
func (r *Ring) layoutFits(points int) bool {
	ideal := float64(idealBuckets(r.cfg.ratio(), points, r.k))
	return float64(r.nb) <= 1.5*ideal && 1.5*float64(r.nb) >= ideal
}

// bucketOf returns the bucket of the in-leaf offset x (a position shifted
// left by k) and x's offset inside it, scaled to 2^64.
func (r *Ring) bucketOf(x uint64) (bucket, frac uint64) {
	return bits.Mul64(x, r.nb)
}

// neighbours returns the last point before leaf li and the first point
// after it (wrapping; li itself when it is the only non-empty leaf). The
// ring has at least one visible point.
func (r *Ring) neighbours(li int) (pred, succ ptSlot) {
	return r.lastPoint(r.prevLeaf(li)), r.firstPoint(r.nextLeaf(li))
}

// firstPoint returns the first point of the non-empty leaf li.
func (r *Ring) firstPoint(li int) ptSlot {
	e := r.entries(r.leaves[li])
	return ptSlot{r.pos(li, e[0]), e[0] & r.mask}
}

// lastPoint returns the last point of the non-empty leaf li.
func (r *Ring) lastPoint(li int) ptSlot {
	e := r.entries(r.leaves[li])
	return ptSlot{r.pos(li, e[len(e)-1]), e[len(e)-1] & r.mask}
}

// prevLeaf returns the nearest non-empty leaf before li, wrapping (li
// itself if no other leaf is non-empty).
func (r *Ring) prevLeaf(li int) int {
	m := len(r.leaves) - 1
	for j := (li - 1) & m; ; j = (j - 1) & m {
		if len(r.leaves[j]) != 0 || j == li {
			return j
		}
	}
}

// nextLeaf returns the nearest non-empty leaf after li, wrapping.
func (r *Ring) nextLeaf(li int) int {
	m := len(r.leaves) - 1
	for j := (li + 1) & m; ; j = (j + 1) & m {
		if len(r.leaves[j]) != 0 || j == li {
			return j
		}
	}
}

// successor returns the index in the entries of lf (non-empty) of the first
// entry not below key (len(entries) if none), by binary search.
func (r *Ring) successor(lf []uint64, key uint64) int {
	e := r.entries(lf)
	lo, hi := 0, len(e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m] < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
