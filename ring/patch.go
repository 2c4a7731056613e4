package ring

import "slices"

// Header maintenance after an update (header layout in leaf.go): a leaf
// that gained or lost a few points keeps a copy of its old header, patched
// where the owner changes moved; its neighbours are patched where their
// neighbour point changed.

// refreshHeaders gives every rebuilt leaf its header: a copy of the old
// one patched around the changed points (patchHeader), or a new one. Then
// a neighbouring leaf whose neighbour point changed gets, in a copy, its
// header rewritten next to that point, if the words changed.
func (n *Ring) refreshHeaders(changed []leafChange, old *Ring) {
	hb := headerBuilder{r: n}
	touched := make([]int, len(changed))
	for i, c := range changed {
		touched[i] = c.li
		lf := n.leaves[c.li]
		if len(lf) == 0 {
			continue
		}
		pred, succ := n.neighbours(c.li)
		ol := old.leaves[c.li]
		if c.slow || len(ol) == 0 || len(c.adds)+len(c.dels) > maxPatch || len(lf) > maxTop || len(ol) > maxTop {
			hb.fill(c.li, lf[:n.hw], n.entries(lf), pred, succ)
			continue
		}
		copy(lf[:n.hw], ol[:n.hw])
		n.patchHeader(&hb, c, lf, pred, succ)
	}
	scratch := make([]uint64, n.hw)
	for _, li := range touched {
		oe, ne := old.entries(old.leaves[li]), n.entries(n.leaves[li])
		both := len(oe) > 0 && len(ne) > 0
		if !both || oe[0] != ne[0] {
			n.refreshNeighbour(&hb, n.prevLeaf(li), touched, scratch, true)
		}
		if !both || oe[len(oe)-1] != ne[len(ne)-1] {
			n.refreshNeighbour(&hb, n.nextLeaf(li), touched, scratch, false)
		}
	}
}

// maxPatch is the most changed points in one leaf that patchHeader
// handles; a leaf with more gets a new header.
const maxPatch = 4

// patchHeader updates the header of lf (a copy of the old leaf's header)
// for the points added to and removed from the leaf: the hints of the
// buckets after a changed point move by one, and the buckets between the
// new neighbours of a changed point, whose owner changes moved, are
// rewritten, in increasing order (each rewrite reads the word before its
// first bucket, which an earlier one may have rewritten).
func (n *Ring) patchHeader(hb *headerBuilder, c leafChange, lf []uint64, pred, succ ptSlot) {
	hdr, e := lf[:n.hw], n.entries(lf)
	n.shiftHints(hdr, c)
	hb.li, hb.hdr, hb.e, hb.pred, hb.succ = c.li, hdr, e, pred, succ
	ai, di := 0, 0
	for ai < len(c.adds) || di < len(c.dels) {
		var x uint64 // packed entry of the next change
		add := di == len(c.dels) || (ai < len(c.adds) && n.pack(c.adds[ai]) < n.pack(c.dels[di]))
		if add {
			x, ai = n.pack(c.adds[ai]), ai+1
		} else {
			x, di = n.pack(c.dels[di]), di+1
		}
		i := n.successor(lf, x) // an added point is e[i]
		q, s := i-1, i
		if add {
			s = i + 1
		}
		// Buckets b0..b1 (of the points q and s) hold entries i0..i1-1.
		b0, b1, i0, i1 := uint64(0), n.nb-1, 0, len(e)
		if q >= 0 {
			b0, i0 = hb.bucketAt(q), q
			for i0 > 0 && hb.bucketAt(i0-1) == b0 {
				i0--
			}
		}
		if s < len(e) {
			b1, i1 = hb.bucketAt(s), s+1
			for i1 < len(e) && hb.bucketAt(i1) == b1 {
				i1++
			}
		}
		hb.fillSpan(b0, b1, i0, i1)
	}
}

// shiftHints moves the hint of every hint word by the number of points
// added minus the number removed in the buckets before its own: the
// entries it points at moved by that much. (A change in a hint word's own
// bucket leaves the index of the bucket's first entry where it was.)
func (n *Ring) shiftHints(hdr []uint64, c leafChange) {
	var at [2 * maxPatch]uint64 // change buckets, sorted
	var d [2 * maxPatch]int32
	m := 0
	for i, ps := range [2][]point{c.adds, c.dels} {
		for _, p := range ps {
			b, _ := n.bucketOf(n.pack(p) &^ n.mask)
			j := m
			for ; j > 0 && at[j-1] > b; j-- {
				at[j], d[j] = at[j-1], d[j-1]
			}
			at[j], d[j] = b, int32(1-2*i)
			m++
		}
	}
	// Bucket b is word b+1: the words after change bucket at[i] and up to
	// the next change bucket move by the sum of d[:i+1].
	delta := int32(0)
	for i := 0; i < m; i++ {
		delta += d[i]
		to := n.nb // last word
		if i+1 < m {
			to = at[i+1] + 1
		}
		addHints(hdr, at[i]+2, to, delta)
	}
}

// addHints adds d to the hint of every hint word among words from..to of
// hdr, two words at a time: a word is a hint when its tag bit is clear.
func addHints(hdr []uint64, from, to uint64, d int32) {
	if d == 0 || from > to {
		return
	}
	const tags = tagBit | tagBit<<32
	if from&1 == 1 {
		if w := hword(hdr, from); w&tagBit == 0 {
			setHword(hdr, from, uint32(int32(w)+d<<topShift))
		}
		from++
	}
	step := func(x uint64) uint64 { return (^x & tags) >> 16 << topShift } // one in each hint half
	switch ws := hdr[from>>1 : (to+1)>>1]; d {
	case 1:
		for i, x := range ws {
			ws[i] = x + step(x)
		}
	case -1:
		for i, x := range ws {
			ws[i] = x - step(x)
		}
	default:
		for i, x := range ws {
			ws[i] = x + step(x)*uint64(int64(d))
		}
	}
	if to&1 == 0 && to >= from {
		if w := hword(hdr, to); w&tagBit == 0 {
			setHword(hdr, to, uint32(int32(w)+d<<topShift))
		}
	}
}

// refreshNeighbour rewrites the header of leaf j next to its last point
// (the point after it changed: atEnd) or its first (the point before it
// changed). A leaf rebuilt by this update is written in place; another
// leaf gets a copy with the new header if a word changed.
func (n *Ring) refreshNeighbour(hb *headerBuilder, j int, touched []int, scratch []uint64, atEnd bool) {
	lf := n.leaves[j]
	if len(lf) == 0 {
		return
	}
	e := n.entries(lf)
	b0, b1 := uint64(0), n.nb-1
	if atEnd {
		b0, _ = n.bucketOf(e[len(e)-1] &^ n.mask)
	} else {
		b1, _ = n.bucketOf(e[0] &^ n.mask)
	}
	pred, succ := n.neighbours(j)
	if _, ok := slices.BinarySearch(touched, j); ok {
		hb.fillRange(j, lf[:n.hw], e, pred, succ, b0, b1)
		return
	}
	copy(scratch, lf[:n.hw])
	hb.fillRange(j, scratch, e, pred, succ, b0, b1)
	if !slices.Equal(scratch, lf[:n.hw]) {
		c := slices.Clone(lf)
		copy(c, scratch)
		n.leaves[j] = c
	}
}
