package ring

import (
	"math"
	"testing"
)

// TestArcs: the arcs cover the hash space without gaps, adjacent arcs have
// different owners, every key falls in its owner's arc, and the shares
// add up to Shares.
func TestArcs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.VNodes = 64
	r, err := New(cfg, Member{Name: "a", Weight: 1}, Member{Name: "b", Weight: 2}, Member{Name: "c", Weight: 1})
	if err != nil {
		t.Fatal(err)
	}
	arcs, err := Arcs(r)
	if err != nil || len(arcs) < 3 || arcs[0].Start != 0 || arcs[len(arcs)-1].End != math.MaxUint64 {
		t.Fatalf("%d arcs, %v", len(arcs), err)
	}
	share := map[string]float64{}
	for i, a := range arcs {
		if i > 0 && (a.Start != arcs[i-1].End+1 || a.Owner == arcs[i-1].Owner) {
			t.Fatalf("arc %d %+v after %+v", i, a, arcs[i-1])
		}
		if r.LocateHash(a.Start) != a.Owner || r.LocateHash(a.End) != a.Owner {
			t.Fatalf("arc %+v: owners %s %s", a, r.LocateHash(a.Start), r.LocateHash(a.End))
		}
		share[a.Owner] += a.Share()
	}
	want, _ := Shares(r)
	for m, s := range want {
		if math.Abs(share[m]-s) > 1e-9 {
			t.Fatalf("%s: %f vs %f", m, share[m], s)
		}
	}
}
