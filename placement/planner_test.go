package placement

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/ring"
)

// ringChange draws an old ring and a new one that differs by random joins,
// leaves and weight changes, both over small vnode counts (the properties
// do not depend on the count; small rings keep the check fast).
func ringChange(t *rapid.T) (old, new *ring.Ring) {
	vnodes := rapid.IntRange(1, 48).Draw(t, "vnodes")
	pool := []string{"a@h", "b@h", "c@h", "d@h", "e@h", "f@h", "g@h"}
	weights := rapid.SliceOfN(rapid.IntRange(1, 3), len(pool), len(pool)).Draw(t, "weights")
	inOld := rapid.SliceOfN(rapid.Bool(), len(pool), len(pool)).Draw(t, "inOld")
	inNew := rapid.SliceOfN(rapid.Bool(), len(pool), len(pool)).Draw(t, "inNew")
	reweight := rapid.SliceOfN(rapid.IntRange(0, 3), len(pool), len(pool)).Draw(t, "reweight")
	var om, nm []ring.Member
	for i, name := range pool {
		if inOld[i] {
			om = append(om, ring.Member{Name: name, Weight: weights[i]})
		}
		if inNew[i] {
			w := weights[i]
			if reweight[i] > 0 {
				w = reweight[i]
			}
			nm = append(nm, ring.Member{Name: name, Weight: w})
		}
	}
	var err error
	if old, err = buildRing(vnodes, om); err != nil {
		t.Fatal(err)
	}
	if new, err = buildRing(vnodes, nm); err != nil {
		t.Fatal(err)
	}
	return old, new
}

func drawKeys(t *rapid.T) []hostedKey {
	keys := rapid.SliceOfNDistinct(rapid.StringN(1, 12, -1), 0, 200, rapid.ID[string]).Draw(t, "keys")
	out := make([]hostedKey, len(keys))
	for i, k := range keys {
		out[i] = hostedKey{ID: keyID{Kind: "k", Key: k}, Hash: ring.HashString(k)}
	}
	return out
}

// naivePlan is the model: a hosted key moves iff its owner in new is
// another member (and there is one), to that owner; for planDiff's model,
// only keys self owned in old are considered.
func naivePlan(self string, hosted []hostedKey, old, new *ring.Ring, onlyOwned bool) []move {
	var out []move
	for _, h := range hosted {
		if onlyOwned && old.LocateString(h.ID.Key) != self {
			continue
		}
		if o := new.LocateString(h.ID.Key); o != "" && o != self {
			out = append(out, move{ID: h.ID, To: o})
		}
	}
	return out
}

func sortMoves(ms []move) []move {
	slices.SortFunc(ms, func(a, b move) int { return compareStrings(a.ID.Key, b.ID.Key) })
	return ms
}

func drawSelf(t *rapid.T, old *ring.Ring) string {
	names := []string{"a@h", "b@h", "stranger@h"}
	for _, m := range old.Members() {
		names = append(names, m.Name)
	}
	return rapid.SampledFrom(names).Draw(t, "self")
}

// TestPlanFullMatchesModel: planFull moves exactly the hosted keys whose
// owner is someone else, each to its owner.
func TestPlanFullMatchesModel(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		old, new := ringChange(t)
		self, hosted := drawSelf(t, old), drawKeys(t)
		got := sortMoves(planFull(self, hosted, new))
		want := sortMoves(naivePlan(self, hosted, old, new, false))
		if !slices.Equal(got, want) {
			t.Fatalf("planFull %v, model %v", got, want)
		}
	})
}

// TestPlanDiffMatchesModel: for any hosted keys, planDiff moves only keys
// whose owner changed from self, each to its new owner; and when every
// hosted key is owned by self in old, planDiff equals planFull.
func TestPlanDiffMatchesModel(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		old, new := ringChange(t)
		self, hosted := drawSelf(t, old), drawKeys(t)
		got := sortMoves(planDiff(self, hosted, old, new))
		want := sortMoves(naivePlan(self, hosted, old, new, true))
		if !slices.Equal(got, want) {
			t.Fatalf("planDiff %v, model %v", got, want)
		}
		var owned []hostedKey
		for _, h := range hosted {
			if old.LocateString(h.ID.Key) == self {
				owned = append(owned, h)
			}
		}
		d, f := sortMoves(planDiff(self, owned, old, new)), sortMoves(planFull(self, owned, new))
		if !slices.Equal(d, f) {
			t.Fatalf("owned keys: planDiff %v != planFull %v", d, f)
		}
	})
}

// TestPlanJoinMovesOnlyToNewMember: after a join, every planned move of
// every old member goes to the new member, and the total equals the keys
// whose owner changed.
func TestPlanJoinMovesOnlyToNewMember(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "members")
		vnodes := rapid.IntRange(1, 64).Draw(t, "vnodes")
		var ms []ring.Member
		for i := range n {
			ms = append(ms, ring.Member{Name: fmt.Sprintf("m%d@h", i), Weight: 1})
		}
		old, _ := buildRing(vnodes, ms)
		joined := ring.Member{Name: "new@h", Weight: rapid.IntRange(1, 3).Draw(t, "weight")}
		new, _ := buildRing(vnodes, append(slices.Clone(ms), joined))
		keys := drawKeys(t)
		total := 0
		for _, m := range ms {
			var mine []hostedKey
			for _, h := range keys {
				if old.LocateHash(h.Hash) == m.Name {
					mine = append(mine, h)
				}
			}
			for _, mv := range planDiff(m.Name, mine, old, new) {
				if mv.To != joined.Name {
					t.Fatalf("%s moves %s to %s", m.Name, mv.ID.Key, mv.To)
				}
				total++
			}
		}
		changed := 0
		for _, h := range keys {
			if old.LocateHash(h.Hash) != new.LocateHash(h.Hash) {
				changed++
			}
		}
		if total != changed {
			t.Fatalf("%d moves planned, %d owners changed", total, changed)
		}
	})
}
