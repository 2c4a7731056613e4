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

// BenchmarkLocate times whole lookups (hash included) of short keys
// ("key-N") on the ring and, for comparison, on Bounded (one table read).
func BenchmarkLocate(b *testing.B) {
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte(fmt.Sprint("key-", i))
	}
	for _, n := range []int{10, 100, 1000} {
		r := benchRing(b, n)
		bd, err := NewBounded(DefaultBoundedConfig(), r.Members()...)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []Strategy{r, bd} {
			b.Run(fmt.Sprintf("%s/%d", s.Name(), n), func(b *testing.B) {
				sink := 0
				for i := 0; b.Loop(); i++ {
					sink += len(s.Locate(keys[i&(len(keys)-1)]))
				}
				_ = sink
			})
		}
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

// BenchmarkAddRemove times one join and one leave at 10, 100 and 1000
// members (the ring's share of BenchmarkRingAddRemove in ../bench).
func BenchmarkAddRemove(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := benchRing(b, n)
			m := Member{Name: fmt.Sprintf("node-%04d", n), Weight: 1}
			b.ReportAllocs()
			for b.Loop() {
				r2, err := r.Add(m)
				if err == nil {
					_, err = r2.Remove(m.Name)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuild times New at 10, 100 and 1000 members.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ms := benchRing(b, n).Members()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(DefaultConfig(), ms...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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

// BenchmarkLeafCopy times what an update pays per leaf it touches before
// doing any work on it: allocating a leaf-sized block (100 words, a leaf of
// a 1000-member ring with its header), copying the old one into it, and
// keeping it alive among 2048 others, as live snapshots do (so the garbage
// collector's share is in). One join of a member with 1024 points touches
// about 1000 leaves of such a ring, one leave as many again.
func BenchmarkLeafCopy(b *testing.B) {
	src := make([]uint64, 100)
	live := make([][]uint64, 2048)
	for i := 0; b.Loop(); i++ {
		c := make([]uint64, len(src))
		copy(c, src)
		live[i&(len(live)-1)] = c
	}
}

// BenchmarkAppendLocateN times a replica preference list of 3 (the
// owner and two backups), the key already hashed.
func BenchmarkAppendLocateN(b *testing.B) {
	hs := make([]uint64, 1<<16)
	for i := range hs {
		hs[i] = HashString(fmt.Sprint("key-", i))
	}
	for _, n := range []int{10, 100, 1000} {
		r := benchRing(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dst := make([]string, 0, 3)
			for i := 0; b.Loop(); i++ {
				dst = r.AppendLocateNHash(dst[:0], hs[i&(len(hs)-1)], 3)
			}
		})
	}
}
