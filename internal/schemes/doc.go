// Package schemes holds the placement schemes that placer's benchmarks
// compare the ring with: the baselines that used to live in package ring
// (Modulo, the seed's hash-mod-n, and an adapter of buraksezer/consistent),
// and the well-known schemes a user would otherwise pick: jump consistent
// hashing behind a remap table (Jump), rendezvous or highest-random-weight
// hashing (Rendezvous), Maglev's lookup table (Maglev) and multi-probe
// consistent hashing (MultiProbe).
//
// Every scheme implements ring.Strategy: an immutable snapshot, safe for
// concurrent use, that places a key by its hash ring.Hash(key), so that the
// benchmarks can compare them key for key. Each is tested against a naive
// model of its paper's rule. The package is internal: it makes no
// compatibility promise, and ring stays a small library that depends on
// xxhash alone.
//
// Bad input (member names, weights, configuration) is an error wrapping a
// sentinel of package ring (ring.ErrBadName, ring.ErrBadWeight,
// ring.ErrBadConfig, ...) or of this package, never a panic.
package schemes
