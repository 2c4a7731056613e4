package ring

import (
	"fmt"
	"testing"
)

// In-package micro-benchmarks, to split a lookup's cost; the comparison with
// the other strategies lives in ../bench (go test -bench Ring ./bench/).

func benchRing(b *testing.B, n int) *Ring {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf("node-%04d", i), Weight: 1}
	}
	r, err := New(DefaultConfig(), ms...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkLocateHash times the ring's own part of a lookup: position to
// owner, the key already hashed.
func BenchmarkLocateHash(b *testing.B) {
	hs := make([]uint64, 1<<16)
	for i := range hs {
		hs[i] = HashString(fmt.Sprint("key-", i))
	}
	for _, n := range []int{10, 100, 1000} {
		r := benchRing(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			sink := 0
			for i := 0; b.Loop(); i++ {
				sink += len(r.LocateHash(hs[i&(len(hs)-1)]))
			}
			_ = sink
		})
	}
}

// BenchmarkHashKey times XXH64 of a short key, the other part of a lookup.
func BenchmarkHashKey(b *testing.B) {
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte(fmt.Sprint("key-", i))
	}
	var sink uint64
	for i := 0; b.Loop(); i++ {
		sink += Hash(keys[i&(len(keys)-1)])
	}
	_ = sink
}

// BenchmarkVNodeHash times the position of one virtual node (a build hashes
// weight × VNodes of them per member).
func BenchmarkVNodeHash(b *testing.B) {
	h := newVnodeHasher("node-0042")
	var sink uint64
	for i := uint32(0); b.Loop(); i++ {
		sink += h.sum(i)
	}
	_ = sink
}

// BenchmarkDiffJoin times Diff between a ring and the same ring plus one
// member (the handoff planner's question after a join).
func BenchmarkDiffJoin(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		r := benchRing(b, n)
		r2, err := r.Add(Member{Name: "joiner", Weight: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if len(Diff(r, r2)) == 0 {
					b.Fatal("no moves")
				}
			}
		})
	}
}
