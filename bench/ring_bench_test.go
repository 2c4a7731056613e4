package bench

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/placerhq/placer/ring"
)

// Go benchmarks of issue 2: lookup (serial and parallel), one add+remove,
// and a build, at 10, 100 and 1000 members, for ring, bounded (c = 1.25),
// modulo and buraksezer/consistent v0.10.0 (PartitionCount 7919,
// ReplicationFactor 20, Load 1.25, XXH64). `placer bench ring` measures the
// same things (and balance and churn) in one run; these are for
// `go test -bench` and benchstat.
//
//	go test -run '^$' -bench Ring -benchmem ./bench/

// ringBenchSizes are the member counts of issue 2.
func ringBenchSizes() []int { return []int{10, 100, 1000} }

func ringBenchSubjects() []strategyUnderTest {
	o := DefaultRingOptions()
	o.LoadFactors = []float64{1.25}
	return ringSubjectList(o)
}

// forEachBuilt runs fn as a sub-benchmark for every strategy and size, on
// an instance built once, outside the timed region.
func forEachBuilt(b *testing.B, fn func(b *testing.B, s builtStrategy, n int)) {
	for _, s := range ringBenchSubjects() {
		for _, n := range ringBenchSizes() {
			x, err := s.build(ringMembers(n))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d", s.name(), n), func(b *testing.B) {
				b.ResetTimer()
				fn(b, x, n)
			})
		}
	}
}

func benchKeys() [][]byte {
	keys, _ := ringKeys(1 << 16)
	return keys
}

func BenchmarkRingLookup(b *testing.B) {
	keys := benchKeys()
	forEachBuilt(b, func(b *testing.B, s builtStrategy, _ int) {
		b.ReportAllocs()
		sink := 0
		for i := 0; b.Loop(); i++ {
			sink += s.lookups(keys[i&(len(keys)-1) : i&(len(keys)-1)+1])
		}
		_ = sink
	})
}

func BenchmarkRingLookupParallel(b *testing.B) {
	keys := benchKeys()
	forEachBuilt(b, func(b *testing.B, s builtStrategy, _ int) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i, sink := 0, 0
			for pb.Next() {
				sink += s.lookups(keys[i&(len(keys)-1) : i&(len(keys)-1)+1])
				i++
			}
			_ = sink
		})
	})
}

func BenchmarkRingAddRemove(b *testing.B) {
	forEachBuilt(b, func(b *testing.B, s builtStrategy, n int) {
		b.ReportAllocs()
		m := ring.Member{Name: ringMemberName(n), Weight: 1}
		for b.Loop() {
			if err := s.addRemove(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRingBuild(b *testing.B) {
	for _, s := range ringBenchSubjects() {
		for _, n := range ringBenchSizes() {
			ms := ringMembers(n)
			b.Run(fmt.Sprintf("%s/%d", s.name(), n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.build(ms); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRingMemoryLevels measures what one random table read costs on
// this machine as the table grows (64 KiB to 32 MiB), the yardstick for
// lookup structures in docs/bench-ring.md:
//
//	go test -run '^$' -bench RingMemoryLevels ./bench/
//
// hash+read is XXH64 of a short key, then one 4-byte read at the index it
// gives: a lookup's floor for a table of that size (lookups are
// independent, so the CPU overlaps several of them). chase follows reads
// whose address is the previous read's value, around one random cycle
// through the whole table: the latency of the cache level (or memory) that
// holds it.
func BenchmarkRingMemoryLevels(b *testing.B) {
	keys := benchKeys()
	for kib := 64; kib <= 32<<10; kib *= 2 {
		tab := randomCycle(kib << 8)
		shift := 64 - uint(bits.Len(uint(len(tab)-1)))
		b.Run(fmt.Sprintf("hash+read/%dKiB", kib), func(b *testing.B) {
			sink := uint32(0)
			for i := 0; b.Loop(); i++ {
				sink += tab[xxhash.Sum64(keys[i&(len(keys)-1)])>>shift]
			}
			_ = sink
		})
		b.Run(fmt.Sprintf("chase/%dKiB", kib), func(b *testing.B) {
			j := uint32(0)
			for b.Loop() {
				j = tab[j]
			}
			_ = j
		})
	}
}

// randomCycle returns a table of n indexes that visits all of them in one
// random cycle, from a fixed seed (Sattolo's shuffle).
func randomCycle(n int) []uint32 {
	rng := rand.New(rand.NewPCG(1, 2))
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := rng.IntN(i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	tab := make([]uint32, n)
	for i := range perm {
		tab[perm[i]] = perm[(i+1)%n]
	}
	return tab
}
