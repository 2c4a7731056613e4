// Package ring maps keys to members: a consistent-hash ring with virtual
// nodes and a bounded-load variant, behind one Strategy interface. It is a pure library: no I/O, no goroutines, no clock, no
// logging; every value is an immutable snapshot, safe for concurrent use.
//
// # Placement rule (the compatibility promise; docs/ring.md has the details)
//
// A key's position is Hash(key) = XXH64(key, seed 0). A member of weight w
// owns w × Config.VNodes points; point i of member "name" sits at
// XXH64(name ‖ 0x00 ‖ uint32 big-endian i) (VNodePosition). A key belongs to
// the point nearest to its position, measured both ways round the 2^64
// circle; on a tie, to the point that follows it clockwise. When several
// points share one position, the one whose member name is smallest (bytewise)
// is the point at that position; the others own nothing until it leaves.
//
// Taking the nearest point rather than the next one halves the variance of
// a member's share (each point owns half of the gap on either side instead
// of the whole gap before it), so the same balance needs half the points:
// with the default 1024 points per unit of weight the coefficient of
// variation of shares is about 1/√2048 ≈ 0.022. A join still moves keys only
// to the joining member, and a leave only moves the leaver's keys.
//
// # Structure and cost
//
// The circle is cut into 2^k equal leaves (about 48 to 96 points each). A
// leaf is one []uint64: a header that cuts the leaf again into about 1.5
// buckets per point and gives each bucket its owner, or its one owner
// change (one 32-bit word), then the points packed as position<<k |
// member slot. A lookup is a hash, a read of the leaf directory and one of
// two adjacent header words: about nine in ten keys are answered there,
// the rest by a branch-free compare of four entries. O(1) whatever the
// member count, no allocation, no lock. About 15 bytes per point.
//
// Add, Remove, SetWeight and Apply return a new Ring that shares every leaf
// the change does not touch: the cost is proportional to the points added
// or removed (weight × VNodes), plus a copy of the leaf directory, and does
// not depend on the insertion order. A rebuilt leaf keeps its old header,
// patched where the owner changes moved. Diff(old, new) lists the hash
// ranges that changed owner, exactly.
//
// # Strategies
//
//   - *Ring: the vnode ring above.
//   - *Bounded: consistent hashing with bounded loads (Mirrokni, Thorup and
//     Zadimoghaddam) over 2^16 fixed partitions ordered by the ring: no
//     member holds more than c times its share of partitions.
//
// The schemes the benchmarks compare with (the seed's hash-mod-n,
// buraksezer/consistent, jump, rendezvous, Maglev, multi-probe) live outside
// this package, which depends on xxhash alone.
//
// A Holder keeps the current snapshot for concurrent readers.
//
// Locate on a strategy with no members returns "" and never panics. Bad
// input (empty or over-long names, weights outside 1..MaxWeight, duplicate
// or unknown members, bad configuration) is an error wrapping one of the
// ErrXxx sentinels, never a panic.
package ring
