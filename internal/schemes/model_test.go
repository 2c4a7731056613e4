package schemes

import (
	"math"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"

	"github.com/placerhq/placer/ring"
)

// Naive models: each scheme's rule written as plainly as its paper states
// it, without the shortcuts of the implementation.

func genMembers(t *rapid.T, minN, maxN, maxW int) []ring.Member {
	names := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-f]{1,4}`), minN, maxN, rapid.ID[string]).Draw(t, "names")
	ms := make([]ring.Member, len(names))
	for i, n := range names {
		ms[i] = ring.Member{Name: n, Weight: rapid.IntRange(1, maxW).Draw(t, "weight")}
	}
	slices.SortFunc(ms, func(a, b ring.Member) int { return cmpName(a, b.Name) })
	return ms
}

// The test vectors of the reference implementation (Lamping and Veach's
// C++ code, as every port checks them).
func TestJumpVectors(t *testing.T) {
	for _, v := range []struct {
		key     uint64
		buckets int
		want    int
	}{{1, 1, 0}, {42, 57, 43}, {0xDEAD10CC, 1, 0}, {0xDEAD10CC, 666, 361}, {256, 1024, 520}} {
		if got := JumpBucket(v.key, v.buckets); got != v.want {
			t.Errorf("JumpBucket(%d, %d) = %d, want %d", v.key, v.buckets, got, v.want)
		}
	}
}

// JumpNext's promise, checked by growing the bucket count one at a time.
func TestPropJumpNext(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := rapid.Uint64().Draw(t, "h")
		n := rapid.IntRange(1, 300).Draw(t, "n")
		b, next := JumpNext(h, n)
		for m := n; m <= n+200; m++ {
			got := JumpBucket(h, m)
			switch {
			case int64(m) <= next && got != b:
				t.Fatalf("JumpBucket(h, %d) = %d, want %d (next %d)", m, got, b, next)
			case int64(m) == next+1 && got != int(next):
				t.Fatalf("JumpBucket(h, %d) = %d, want %d", m, got, next)
			}
			if m > n && got != JumpBucket(h, m-1) && got != m-1 {
				t.Fatalf("growing to %d moved a key to bucket %d, not the new one", m, got)
			}
		}
	})
}

// Jump's remap table against a plain slice model of the rule.
func TestPropJumpRemap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ms := genMembers(t, 1, 8, 3)
		j, err := NewJump(ms...)
		if err != nil {
			t.Fatal(err)
		}
		var model []string
		for _, m := range ms {
			for range m.Weight {
				model = append(model, m.Name)
			}
		}
		for step := range rapid.IntRange(1, 8).Draw(t, "steps") {
			cur := j.Members()
			var c ring.Change
			name := string(rune('g'+step)) + "x"
			switch op := rapid.IntRange(0, 2).Draw(t, "op"); {
			case op == 0 || len(cur) < 2:
				c = ring.AddChange(ring.Member{Name: name, Weight: rapid.IntRange(1, 3).Draw(t, "w")})
				for range c.Member.Weight {
					model = append(model, name)
				}
			case op == 1:
				c = ring.RemoveChange(cur[rapid.IntRange(0, len(cur)-1).Draw(t, "i")].Name)
				model = naiveDrop(model, c.Member.Name, math.MaxInt)
			default:
				m := cur[rapid.IntRange(0, len(cur)-1).Draw(t, "i")]
				w := rapid.IntRange(1, 4).Draw(t, "w")
				c = ring.SetWeightChange(m.Name, w)
				for range w - m.Weight {
					model = append(model, m.Name)
				}
				model = naiveDrop(model, m.Name, m.Weight-w)
			}
			s, err := j.With(c)
			if err != nil {
				t.Fatal(err)
			}
			j = s.(*Jump)
			if !slices.Equal(j.Buckets(), model) {
				t.Fatalf("after %v: buckets %v, model %v", c, j.Buckets(), model)
			}
		}
		for range 50 {
			h := rapid.Uint64().Draw(t, "h")
			if got, want := j.LocateHash(h), model[JumpBucket(h, len(model))]; got != want {
				t.Fatalf("LocateHash = %s, model %s", got, want)
			}
		}
	})
}

// naiveDrop removes up to n buckets of name, highest first: each taken over
// by the member of the last bucket, then the last bucket dropped.
func naiveDrop(buckets []string, name string, n int) []string {
	for ; n > 0; n-- {
		i := -1
		for k, b := range buckets {
			if b == name {
				i = k
			}
		}
		if i < 0 {
			return buckets
		}
		buckets[i] = buckets[len(buckets)-1]
		buckets = buckets[:len(buckets)-1]
	}
	return buckets
}

// Rendezvous: every member's weighted score computed, the highest wins.
func TestPropRendezvousModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ms := genMembers(t, 1, 12, rapid.IntRange(1, 4).Draw(t, "maxW"))
		r, err := NewRendezvous(ms...)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			h := rapid.Uint64().Draw(t, "h")
			best, score := "", math.Inf(-1)
			for _, m := range ms { // ms is sorted: a tie keeps the smaller name
				if s := HRWWeighted(HRWRaw(h, xxhash.Sum64String(m.Name)), m.Weight); s > score {
					best, score = m.Name, s
				}
			}
			if got := r.LocateHash(h); got != best {
				t.Fatalf("LocateHash = %s, model %s", got, best)
			}
		}
	})
}

// Maglev: Algorithm 1 of the paper with the permutation tables written out.
func TestPropMaglevModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{7, 13, 101, 1031}).Draw(t, "M")
		ms := genMembers(t, 1, min(6, size/3), 3)
		m, err := NewMaglev(MaglevConfig{TableSize: size}, ms...)
		if err != nil {
			t.Fatal(err)
		}
		perm := make([][]int, len(ms))
		for i, mb := range ms {
			off, skip := MaglevPermutation(mb.Name, size)
			for j := range size {
				perm[i] = append(perm[i], int((off+uint64(j)*skip)%uint64(size)))
			}
		}
		next := make([]int, len(ms))
		entry := slices.Repeat([]string{""}, size)
		for n := 0; n < size; {
			for i, mb := range ms {
				for w := 0; w < mb.Weight && n < size; w++ {
					c := perm[i][next[i]]
					for entry[c] != "" {
						next[i]++
						c = perm[i][next[i]]
					}
					entry[c] = mb.Name
					next[i]++
					n++
				}
			}
		}
		if !slices.Equal(m.Table(), entry) {
			t.Fatalf("table %v\nmodel %v", m.Table(), entry)
		}
	})
}

// Multi-probe: for each probe, the nearest following point by a scan of
// every point; the closest wins.
func TestPropMultiProbeModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ms := genMembers(t, 1, 10, 3)
		k := rapid.IntRange(1, 25).Draw(t, "k")
		p, err := NewMultiProbe(MultiProbeConfig{Probes: k}, ms...)
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			h := rapid.Uint64().Draw(t, "h")
			best, bestD := "", uint64(0)
			for i := range k {
				x := Probe(h, i)
				for _, m := range ms {
					for j := range m.Weight {
						d := ring.VNodePosition(m.Name, uint32(j)) - x
						if best == "" || d < bestD || (d == bestD && m.Name < best) {
							best, bestD = m.Name, d
						}
					}
				}
			}
			if got := p.LocateHash(h); got != best {
				t.Fatalf("LocateHash = %s, model %s", got, best)
			}
		}
	})
}
