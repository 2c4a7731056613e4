package ring

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// Tests of the leaf headers (leaf.go, header.go) on rings of realistic
// size. The property tests in prop_test.go check the same code against the
// naive model on small rings, with crowded, sparse and no resolved buckets.

// headerPath tells how LocateHash answers h: 0 from one header word (the
// fast path), 1 by scanning from a hint, 2 on the slow path. It follows
// the branches of LocateHash and slotMiss.
func headerPath(r *Ring, h uint64) int {
	lf := r.leaves[h>>r.shift]
	if len(lf) == 0 {
		return 2
	}
	b, frac := bits.Mul64(h<<r.k, r.nb)
	w := hword(lf, b+1)
	if w&tagBit != 0 && (uint32(frac>>32)^w)>>topShift != 0 {
		return 0
	}
	if w&tagBit == 0 {
		if _, ok := scan(lf[r.hw:], h<<r.k, int(w>>topShift), r.k, r.mask); ok {
			return 1
		}
	}
	return 2
}

// exactSlot is the owner by the exact path alone (seek and compare the
// two neighbouring points), which the header must agree with.
func exactSlot(r *Ring, h uint64) uint64 { return r.slotSlow(h) }

// relayout returns a copy of r with nb buckets per leaf (an updated ring
// keeps the bucket count of the ring it came from, which a fresh build of
// its members may not choose).
func relayout(r *Ring, nb uint64) *Ring {
	c := *r
	c.setBuckets(nb)
	c.leaves = make([][]uint64, len(r.leaves))
	for li, lf := range r.leaves {
		c.leaves[li] = c.newLeaf(r.entries(lf))
	}
	c.fillAllHeaders()
	return &c
}

func nodeMembers(n int, format string) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf(format, i), Weight: 1}
	}
	return ms
}

// checkAgainstExact compares LocateHash with the exact path on random
// hashes and on hashes at and next to every point of a sample of leaves,
// and returns the share of random hashes each path answered.
func checkAgainstExact(t *testing.T, r *Ring, rng *rand.Rand, samples int) (share [3]float64) {
	t.Helper()
	for i := 0; i < samples; i++ {
		h := rng.Uint64()
		share[headerPath(r, h)] += 1 / float64(samples)
		if got, want := r.LocateHash(h), r.names[exactSlot(r, h)]; got != want {
			t.Fatalf("LocateHash(%x) = %q, exact path %q", h, got, want)
		}
	}
	for n := 0; n < 64; n++ {
		li := rng.IntN(len(r.leaves))
		es := r.entries(r.leaves[li])
		for i := 0; i < len(es) && i < 128; i++ {
			p := r.pos(li, es[rng.IntN(len(es))])
			for _, h := range []uint64{p - 1, p, p + 1} {
				if got, want := r.LocateHash(h), r.names[exactSlot(r, h)]; got != want {
					t.Fatalf("LocateHash(%x) = %q, exact path %q", h, got, want)
				}
			}
		}
	}
	return share
}

// Most lookups are answered by one header word, and every answer is the
// exact one, at the benchmark's sizes and with other member names.
func TestHeaderResolvesMostKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		n      int
		format string
	}{{10, "node-%04d"}, {100, "node-%04d"}, {1000, "node-%04d"}, {37, "10.0.%d.7:4369"}, {300, "placer@host-%x"}} {
		r := mustNew(t, DefaultConfig(), nodeMembers(tc.n, tc.format)...)
		share := checkAgainstExact(t, r, rng, 100_000)
		t.Logf("%d members (%s): header %.3f, scan %.3f, slow %.4f", tc.n, tc.format, share[0], share[1], share[2])
		if share[0] < 0.8 || share[2] > 0.01 {
			t.Errorf("%d members: header answered %.3f of lookups (want ≥ 0.8), slow path %.4f (want ≤ 0.01)", tc.n, share[0], share[2])
		}
	}
}

// A join and a leave patch the headers of the leaves they touch (and of
// their neighbours) to exactly what a fresh build gives.
func TestHeaderPatchEqualsBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{10, 100, 300} {
		r := mustNew(t, DefaultConfig(), nodeMembers(n, "node-%04d")...)
		for step := 0; step < 5; step++ {
			var err error
			switch step {
			case 0, 2:
				r, err = r.Add(Member{Name: fmt.Sprint("joiner-", step), Weight: 1 + step/2})
			case 1, 3:
				cur := r.Members()
				r, err = r.Remove(cur[rng.IntN(len(cur))].Name)
			default: // a batch: weights up and down, joins and a leave
				cur := r.Members()
				r, err = r.Apply(SetWeightChange(cur[0].Name, cur[0].Weight+1), SetWeightChange(cur[1].Name, 1+cur[1].Weight%2),
					AddChange(Member{"batch-a", 1}), AddChange(Member{"batch-b", 3}), RemoveChange(cur[2].Name))
			}
			if err != nil {
				t.Fatal(err)
			}
			fresh := relayout(mustNew(t, DefaultConfig(), r.Members()...), r.nb)
			for li := range r.leaves {
				if r.k != fresh.k {
					break // the update kept k (hysteresis): no leaf-by-leaf comparison
				}
				if a, b := headerView(r, li), headerView(fresh, li); !slices.Equal(a, b) {
					t.Fatalf("%d members step %d leaf %d: header differs from a fresh build\n%v\n%v", n, step, li, a, b)
				}
			}
			checkAgainstExact(t, r, rng, 5_000)
		}
	}
}

// Leaves of more than 2^15 entries saturate the hints; lookups stay exact
// and updates keep the headers equal to a fresh build's.
func TestHeaderSaturatedHints(t *testing.T) {
	cfg := Config{VNodes: 36000, leafTarget: 1 << 20, bucketRatio: 0.05}
	ms := []Member{{"a", 1}, {"b", 1}}
	r := mustNew(t, cfg, ms...)
	if n := len(r.entries(r.leaves[0])); n <= maxTop {
		t.Fatalf("leaf 0 holds %d entries, want > %d", n, maxTop)
	}
	rng := rand.New(rand.NewPCG(15, 16))
	checkAgainstExact(t, r, rng, 20_000)
	r, err := r.Add(Member{"c", 1})
	if err != nil {
		t.Fatal(err)
	}
	fresh := relayout(mustNew(t, cfg, r.Members()...), r.nb)
	for li := range r.leaves {
		if a, b := headerView(r, li), headerView(fresh, li); !slices.Equal(a, b) {
			t.Fatalf("leaf %d: header differs from a fresh build", li)
		}
	}
	checkAgainstExact(t, r, rng, 20_000)
	m := newModel(cfg, r.Members())
	for i := 0; i < 50; i++ {
		h := rng.Uint64()
		if got, want := r.LocateHash(h), m.locate(h); got != want {
			t.Fatalf("LocateHash(%x) = %q, model %q", h, got, want)
		}
	}
}
