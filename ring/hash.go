package ring

import (
	"encoding/binary"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Hash returns the position of a key on the ring: XXH64 of the key bytes
// with seed 0 (github.com/cespare/xxhash/v2 Sum64). Every strategy in this
// package places a key by this value, so a caller that stores keys by hash
// can compare it with the ranges returned by Diff.
func Hash(key []byte) uint64 { return xxhash.Sum64(key) }

// HashString is Hash for a string key, without allocating.
func HashString(key string) uint64 { return xxhash.Sum64String(key) }

// VNodeKey returns the bytes whose XXH64 is the position of the index-th
// virtual node of the member called name: the name, one zero byte, and the
// index as 4 bytes big-endian. The encoding is unambiguous (the index has a
// fixed width, so two different (name, index) pairs give different bytes).
// It is part of the compatibility promise in docs/ring.md.
func VNodeKey(name string, index uint32) []byte {
	b := make([]byte, 0, len(name)+5)
	b = append(b, name...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, index)
}

// VNodePosition returns XXH64(VNodeKey(name, index)), the position of a
// virtual node on the ring.
func VNodePosition(name string, index uint32) uint64 {
	h := newVnodeHasher(name)
	return h.sum(index)
}

// XXH64 constants (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// vnodeHasher computes XXH64(name ‖ 0x00 ‖ uint32be(i)) for many i. For keys
// shorter than 32 bytes XXH64 consumes the input in 8-byte words from the
// left, so the state after the words that lie wholly inside the name is the
// same for every index: it is computed once, and only the last 5 to 12 bytes
// (the rest of the name, the separator and the index) are hashed per index,
// held in two integers instead of a buffer. Longer names fall back to
// xxhash.Sum64 on a scratch buffer. TestVnodeHasher and FuzzVnodeHasher check
// it against xxhash.Sum64.
type vnodeHasher struct {
	short bool
	h     uint64 // state after the name's whole 8-byte words (short only)
	rem   uint64 // the name's last len(name)%8 bytes, little-endian
	sh    uint   // bit offset of the index in the tail: (len(name)%8+1)*8
	tlen  int    // tail bytes: len(name)%8 + 5
	buf   []byte // name ‖ 0x00 ‖ index (long names only)
}

func newVnodeHasher(name string) vnodeHasher {
	n := len(name) + 5
	if n >= 32 {
		b := make([]byte, n)
		copy(b, name)
		return vnodeHasher{buf: b}
	}
	v := vnodeHasher{short: true, h: prime5 + uint64(n)}
	words := len(name) / 8
	for w := 0; w < words; w++ {
		v.h ^= round(binary.LittleEndian.Uint64([]byte(name[w*8 : w*8+8])))
		v.h = bits.RotateLeft64(v.h, 27)*prime1 + prime4
	}
	rest := name[words*8:]
	for j := len(rest) - 1; j >= 0; j-- {
		v.rem = v.rem<<8 | uint64(rest[j])
	}
	v.sh = uint(len(rest)+1) * 8
	v.tlen = len(rest) + 5
	return v
}

func round(k uint64) uint64 {
	return bits.RotateLeft64(k*prime2, 31) * prime1
}

// sum returns the position of virtual node i.
func (v *vnodeHasher) sum(i uint32) uint64 {
	if !v.short {
		binary.BigEndian.PutUint32(v.buf[len(v.buf)-4:], i)
		return xxhash.Sum64(v.buf)
	}
	// The tail as a little-endian 96-bit number lo + hi<<64: name rest,
	// a zero byte, then the index bytes most significant first.
	be := uint64(bits.ReverseBytes32(i))
	lo := v.rem | be<<v.sh
	hi := be >> (64 - v.sh)
	h, n := v.h, v.tlen
	if n >= 8 {
		h ^= round(lo)
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
		lo, n = hi, n-8
	}
	if n >= 4 {
		h ^= uint64(uint32(lo)) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		lo, n = lo>>32, n-4
	}
	for ; n > 0; n-- {
		h ^= (lo & 0xff) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
		lo >>= 8
	}
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}
