package ring

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestVnodeHasher(t *testing.T) {
	for n := 0; n < 40; n++ {
		name := ""
		for i := 0; i < n; i++ {
			name += string(rune('a' + i%26))
		}
		if n == 0 {
			name = "\x00"
		}
		h := newVnodeHasher(name)
		for _, idx := range []uint32{0, 1, 255, 256, 65535, 1 << 24, 0xFFFFFFFF} {
			if got, want := h.sum(idx), Hash(VNodeKey(name, idx)); got != want {
				t.Fatalf("name len %d idx %d: got %x want %x", len(name), idx, got, want)
			}
		}
	}
}

func members(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf("node-%d", i), Weight: 1}
	}
	return ms
}

func TestLocateMatchesModelSmoke(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n, v    int
		posBits uint8
	}{{1, 1, 0}, {2, 3, 0}, {5, 16, 0}, {7, 50, 0}, {30, 100, 0}, {6, 20, 6}, {3, 40, 3}} {
		cfg := Config{VNodes: tc.v, posBits: tc.posBits}
		ms := members(tc.n)
		r, err := New(cfg, ms...)
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(cfg, ms)
		for i := 0; i < 2000; i++ {
			h := rng.Uint64()
			if i%3 == 0 && len(m.pts) > 0 {
				h = m.pts[rng.IntN(len(m.pts))].pos + uint64(rng.IntN(5)) - 2
			}
			if got, want := r.LocateHash(h), m.locate(h); got != want {
				t.Fatalf("%+v h=%x: got %s want %s", tc, h, got, want)
			}
		}
	}
}

// canon lists the ring's points as the model would: visible entries and
// shadowed points, by (pos, name).
func canon(r *Ring) (visible, shadowed []string) {
	for li, lf := range r.leaves {
		for _, e := range r.entries(lf) {
			visible = append(visible, fmt.Sprintf("%016x %s", r.pos(li, e), r.names[e&r.mask]))
		}
	}
	for _, s := range r.shadow {
		shadowed = append(shadowed, fmt.Sprintf("%016x %s", s.pos, r.names[s.slot]))
	}
	slices.Sort(shadowed) // slots differ between builds; order by name
	return visible, shadowed
}

func TestUpdateEqualsBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, posBits := range []uint8{0, 5, 8} {
		cfg := Config{VNodes: 40, posBits: posBits}
		r, _ := New(cfg)
		live := map[string]int{}
		for step := 0; step < 300; step++ {
			name := fmt.Sprintf("m%d", rng.IntN(40))
			var err error
			var nr *Ring
			switch _, ok := live[name]; {
			case !ok:
				w := 1 + rng.IntN(4)
				nr, err = r.Add(Member{name, w})
				live[name] = w
			case rng.IntN(3) == 0:
				w := 1 + rng.IntN(4)
				nr, err = r.SetWeight(name, w)
				live[name] = w
			default:
				nr, err = r.Remove(name)
				delete(live, name)
			}
			if err != nil {
				t.Fatal(err)
			}
			r = nr
			fresh, err := New(cfg, r.Members()...)
			if err != nil {
				t.Fatal(err)
			}
			v1, s1 := canon(r)
			v2, s2 := canon(fresh)
			if fmt.Sprint(v1) != fmt.Sprint(v2) || fmt.Sprint(s1) != fmt.Sprint(s2) {
				t.Fatalf("posBits %d step %d: incremental ring differs from fresh build\n%v\n%v\nshadow %v\n%v", posBits, step, len(v1), len(v2), s1, s2)
			}
			if r.Checksum() != fresh.Checksum() {
				t.Fatalf("checksum differs")
			}
			if r.k == fresh.k {
				fresh := relayout(fresh, r.nb)
				for li := range r.leaves {
					if a, b := headerView(r, li), headerView(fresh, li); !slices.Equal(a, b) {
						t.Fatalf("posBits %d step %d leaf %d: header differs from a fresh build\n%v\n%v", posBits, step, li, a, b)
					}
				}
			}
		}
	}
}

func TestSortPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 63, 64, 1000, 5000} {
		ps := make([]point, n)
		for i := range ps {
			ps[i] = point{pos: rng.Uint64() >> uint(rng.IntN(3)*30), slot: uint32(rng.IntN(4))}
			if i > 0 && rng.IntN(5) == 0 {
				ps[i].pos = ps[i-1].pos // ties broken by slot
			}
		}
		want := slices.Clone(ps)
		slices.SortFunc(want, cmpPoint)
		sortPoints(ps)
		if !slices.Equal(ps, want) {
			t.Fatalf("n=%d: sortPoints differs from slices.SortFunc", n)
		}
	}
}

// Leaves of hundreds of points (hundreds of buckets, changes patched into
// long headers) keep lookups and updates exact.
func TestBigLeaves(t *testing.T) {
	cfg := Config{VNodes: 600, leafTarget: 1 << 20}
	r := mustNew(t, cfg, members(5)...) // 8 leaves (for 8 slots) of about 375 points
	if n := len(r.entries(r.leaves[0])); n < 256 {
		t.Fatalf("leaf 0 holds %d points, want > 255", n)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for step := 0; step < 6; step++ {
		var err error
		if step%2 == 0 {
			k := r.k
			r, err = r.Add(Member{Name: fmt.Sprint("extra", step), Weight: 1})
			if r.k != k {
				t.Fatal("the add rebuilt the ring; it must take the incremental path")
			}
		} else {
			r, err = r.Remove(fmt.Sprint("extra", step-1))
		}
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(cfg, r.Members())
		for i := 0; i < 3000; i++ {
			h := rng.Uint64()
			if i%2 == 0 {
				h = m.pts[rng.IntN(len(m.pts))].pos + uint64(rng.IntN(3)) - 1
			}
			if got, want := r.LocateHash(h), m.locate(h); got != want {
				t.Fatalf("step %d: LocateHash(%x) = %q, model %q", step, h, got, want)
			}
		}
	}
}

// The checksum follows the encoding documented in docs/ring.md, rebuilt
// here by hand.
func TestChecksumEncoding(t *testing.T) {
	str := func(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	var want []byte
	want = append(want, str("placer-ring-v1")...)
	want = append(want, str("ring")...)
	want = append(want, 2)
	want = append(want, u64(1024)...)
	want = append(want, u64(0)...)
	want = append(want, 2)
	want = append(want, str("alpha")...)
	want = append(want, 3)
	want = append(want, str("beta")...)
	want = append(want, 1)
	r := mustNew(t, DefaultConfig(), Member{"beta", 1}, Member{"alpha", 3})
	if got := r.Checksum(); got != xxhash.Sum64(want) {
		t.Fatalf("ring checksum %x, documented encoding gives %x", got, xxhash.Sum64(want))
	}
	// Bounded: params VNodes, 0, round(c×10^6), PartitionBits.
	b, err := NewBounded(DefaultBoundedConfig(), Member{"beta", 1}, Member{"alpha", 3})
	if err != nil {
		t.Fatal(err)
	}
	want = append(str("placer-ring-v1"), str("bounded")...)
	want = append(want, 4)
	for _, p := range []uint64{1024, 0, 1_250_000, 16} {
		want = append(want, u64(p)...)
	}
	want = append(want, 2)
	want = append(append(want, str("alpha")...), 3)
	want = append(append(want, str("beta")...), 1)
	if got := b.Checksum(); got != xxhash.Sum64(want) {
		t.Fatalf("bounded checksum %x, documented encoding gives %x", got, xxhash.Sum64(want))
	}
}

// headerWord is a header word with the member name in place of the slot
// (slots differ between an updated ring and a fresh build).
type headerWord struct {
	name     string
	tag, top uint32
}

// headerView decodes the header of leaf li.
func headerView(r *Ring, li int) []headerWord {
	lf := r.leaves[li]
	if len(lf) == 0 {
		return nil
	}
	out := make([]headerWord, r.nb+1)
	for j := range out {
		w := hword(lf, uint64(j))
		name := "?"
		if int(uint16(w)) < len(r.names) {
			name = r.names[uint16(w)]
		}
		out[j] = headerWord{name, w >> 16 & 1, w >> topShift}
	}
	return out
}
