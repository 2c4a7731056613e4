package ring

import (
	"encoding/binary"
	"math"
)

// Leaf layout.
//
// The 64-bit hash space is cut into 2^k equal leaves by the top k bits of a
// position. A leaf is one []uint64: hdrWords words of sub-index, the leaf's
// points as packed entries (strictly increasing), then padWords words of
// padding (all ones):
//
//	entry = position<<k | slot
//
// The shift drops the k position bits that every point of the leaf shares
// and leaves k low bits for the owner's slot (k is always chosen so that
// every slot fits). Comparing entries compares positions; comparing an entry
// with key<<k tells whether the point lies before the key.
//
// The sub-index cuts the leaf again into subCount equal parts by the next
// subBits bits and stores, for each part, the index of its first entry (one
// byte each, eight per word, saturated at 255: a saturated start is still at
// or before the true one, so a forward scan from it stays correct, only
// slower). A lookup reads one sub-index byte and counts, without branching,
// how many of the next four entries lie before the key; the padding (all
// ones, never below a key) makes those four reads safe at the end of a leaf.
//
// An empty leaf is nil. Leaves are never modified once a Ring holds them, so
// snapshots share every leaf that an update did not touch.
const (
	subBits  = 6
	subCount = 1 << subBits
	hdrWords = subCount / 8
	padWords = 4
	leafOver = hdrWords + padWords // words of a leaf that are not entries
)

// leafEntries returns the packed entries of a leaf.
func leafEntries(lf []uint64) []uint64 {
	if len(lf) == 0 {
		return nil
	}
	return lf[hdrWords : len(lf)-padWords]
}

// allocLeaf returns a leaf with room for n entries, padding written.
func allocLeaf(n int) []uint64 {
	lf := make([]uint64, leafOver+n)
	for i := len(lf) - padWords; i < len(lf); i++ {
		lf[i] = math.MaxUint64
	}
	return lf
}

// newLeaf returns a leaf holding a copy of entries (nil if there are none).
func newLeaf(entries []uint64) []uint64 {
	if len(entries) == 0 {
		return nil
	}
	lf := allocLeaf(len(entries))
	copy(lf[hdrWords:], entries)
	fillSub(lf)
	return lf
}

// fillSub writes the sub-index of lf from its entries.
func fillSub(lf []uint64) {
	var cnt [subCount]int
	for _, e := range leafEntries(lf) {
		cnt[e>>(64-subBits)]++
	}
	writeSub(lf, &cnt)
}

// writeSub writes the sub-index from per-part entry counts.
func writeSub(lf []uint64, cnt *[subCount]int) {
	var sub [subCount]byte
	acc := 0
	for s, c := range cnt {
		sub[s] = byte(min(acc, 255))
		acc += c
	}
	for w := 0; w < hdrWords; w++ {
		lf[w] = binary.LittleEndian.Uint64(sub[w*8:])
	}
}

// shiftSub adjusts the sub-index of lf for one entry inserted (inc) into or
// removed from part b: the start of every later part moves by one. It adds
// to eight bytes at a time; the caller guarantees no start exceeds 254
// before an insert (so no byte carries into the next) and a removed entry
// exists (so no byte borrows).
func shiftSub(lf []uint64, b uint64, inc bool) {
	const ones = 0x0101010101010101
	w := int(b >> 3)
	d := uint64(ones) &^ (1<<((b&7+1)*8) - 1) // bytes above b in its word
	if inc {
		lf[w] += d
		for w++; w < hdrWords; w++ {
			lf[w] += ones
		}
		return
	}
	lf[w] -= d
	for w++; w < hdrWords; w++ {
		lf[w] -= ones
	}
}

// subStart returns where the scan for a key whose top subBits bits (after
// the leaf bits) are s starts in the entries of lf (len(lf) > 0).
func subStart(lf []uint64, s uint64) int {
	return int(byte(lf[s>>3] >> ((s & 7) * 8)))
}

// successor returns the index in the entries of lf (non-empty) of the first
// entry not below key (len(entries) if none).
func successor(lf []uint64, key uint64) int {
	i := subStart(lf, key>>(64-subBits))
	e := lf[hdrWords:]
	c := b2i(e[i] < key) + b2i(e[i+1] < key) + b2i(e[i+2] < key) + b2i(e[i+3] < key)
	i += c
	if c == 4 {
		n := len(lf) - leafOver
		for i < n && e[i] < key {
			i++
		}
	}
	return i
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
