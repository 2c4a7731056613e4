package ring

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Ring is an immutable snapshot of a consistent-hash ring with virtual
// nodes. Each member of weight w owns w × Config.VNodes points whose
// positions are VNodePosition(name, i); a key belongs to the point nearest
// to Hash(key) in either direction (see the package documentation for the
// exact rule and how ties and collisions are broken).
//
// A *Ring is safe for concurrent use: nothing in it changes after New or an
// update returns it. Add, Remove, SetWeight and Apply return a new Ring that
// shares every part of the old one the change did not touch.
//
// The zero Ring is not valid; use New.
type Ring struct {
	cfg Config

	members []Member // sorted by name
	mslot   []uint32 // mslot[i] is the slot of members[i]
	names   []string // names[slot]; "" marks a free slot

	k      uint       // 2^k leaves; entries keep k bits of slot
	shift  uint       // 64 - k: a position's leaf is pos >> shift
	mask   uint64     // 1<<k - 1: an entry's slot is e & mask
	leaves [][]uint64 // see leaf.go
	nb     uint64     // buckets per leaf; updates keep it
	hw     int        // header words (uint64) per non-empty leaf: (nb+2)/2
	points int        // points in leaves plus shadowed points
	shadow []shadowPt // points hidden by a collision, sorted by (pos, slot)

	sum uint64
}

// shadowPt is a point at the same position as a point with a smaller owner
// name. It owns nothing until that point leaves.
type shadowPt struct {
	pos  uint64
	slot uint32
}

func cmpShadow(a, b shadowPt) int {
	switch {
	case a.pos < b.pos:
		return -1
	case a.pos > b.pos:
		return 1
	case a.slot < b.slot:
		return -1
	case a.slot > b.slot:
		return 1
	}
	return 0
}

// Name returns "ring".
func (r *Ring) Name() string { return "ring" }

// Config returns the ring's configuration.
func (r *Ring) Config() Config { return r.cfg }

// Members returns the members sorted by name, in a new slice.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Len returns the number of members.
func (r *Ring) Len() int { return len(r.members) }

// Has reports whether a member called name is in the ring.
func (r *Ring) Has(name string) bool {
	_, ok := findMember(r.members, name)
	return ok
}

// Weight returns the weight of the member called name, or 0 if there is none.
func (r *Ring) Weight(name string) int {
	if i, ok := findMember(r.members, name); ok {
		return r.members[i].Weight
	}
	return 0
}

// Points returns the number of virtual nodes: the sum of weight × VNodes.
func (r *Ring) Points() int { return r.points }

// Checksum returns a digest of the strategy name, the configuration and the
// member set with weights. Two rings with the same checksum place every key
// the same way; the value is the same on every machine and does not depend
// on the order in which members were added. See docs/ring.md for the exact
// encoding.
func (r *Ring) Checksum() uint64 { return r.sum }

// FootprintBytes returns the bytes held by the ring's lookup structure and
// member tables (slice backing arrays and string bytes; leaves shared with
// other snapshots are counted in full).
func (r *Ring) FootprintBytes() int {
	n := len(r.leaves) * 24
	for _, lf := range r.leaves {
		n += cap(lf) * 8
	}
	n += len(r.shadow) * 16
	n += cap(r.members)*32 + cap(r.mslot)*4 + cap(r.names)*16
	for _, name := range r.names {
		n += len(name)
	}
	return n
}

// StrategyChecksum returns the checksum of docs/ring.md for a strategy
// called name with the given parameters over members (sorted by name): what
// Checksum returns for the strategies of this package, and what a Strategy
// implemented elsewhere should return, with its own name and parameters.
func StrategyChecksum(name string, members []Member, params ...uint64) uint64 {
	return checksum(name, members, params...)
}

// checksum returns the digest described at Ring.Checksum: XXH64 over
// "placer-ring-v1", the strategy name, the parameters and the members, each
// length-prefixed. params are strategy-specific 64-bit values.
func checksum(strategy string, ms []Member, params ...uint64) uint64 {
	d := xxhash.New()
	var b []byte
	b = appendString(b, "placer-ring-v1")
	b = appendString(b, strategy)
	b = binary.AppendUvarint(b, uint64(len(params)))
	for _, p := range params {
		b = binary.BigEndian.AppendUint64(b, p)
	}
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = appendString(b, m.Name)
		b = binary.AppendUvarint(b, uint64(m.Weight))
		if len(b) > 4096 {
			_, _ = d.Write(b)
			b = b[:0]
		}
	}
	_, _ = d.Write(b)
	return d.Sum64()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (r *Ring) computeChecksum() uint64 {
	return checksum(r.Name(), r.members, uint64(r.cfg.VNodes), uint64(r.cfg.posBits))
}

// chooseK returns the leaf bits for a ring of p points and nslots slots:
// about 48 to 96 points per leaf, enough entry bits for every slot, and at
// least two leaves (so that a shift by 64 - k never shifts by 64).
func (c Config) chooseK(p, nslots int) uint {
	target := targetLeaf
	if c.leafTarget > 0 {
		target = c.leafTarget
	}
	k := uint(1)
	for p>>k > target {
		k++
	}
	for nslots > 1<<k {
		k++
	}
	return k
}

// targetLeaf is the most points per leaf a fresh build aims for. A leaf
// costs about 60 bytes besides its points (directory entry, padding,
// header rounding): bigger leaves cost less memory per point, smaller ones
// less copying per update.
const targetLeaf = 96

func (r *Ring) setK(k uint) {
	r.k = k
	r.shift = 64 - k
	r.mask = 1<<k - 1
}

// pos returns the full position of entry e of leaf li.
func (r *Ring) pos(li int, e uint64) uint64 {
	return uint64(li)<<r.shift | e>>r.k
}

// leafSpan returns the first and last position of leaf li.
func (r *Ring) leafSpan(li int) (lo, hi uint64) {
	lo = uint64(li) << r.shift
	return lo, lo | (math.MaxUint64 >> r.k)
}
